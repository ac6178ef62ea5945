// Hostile registries, by class of attack (issue "Hostile input, round 2"). Each case turns a good
// registry into a bad one — by editing its parsed document, rewriting its text, or planting files
// beside it — and says which YAML path must be refused with which message. The payloads would
// create the `mark` file if anything ever ran them through a shell.
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';

export interface CaseContext {
  /** The registry's directory. */
  dir: string;
  /** A directory outside it, holding `secret.txt`. */
  outside: string;
  /** A file that must never come to exist. */
  mark: string;
}

export interface HostileCase {
  cls: string;
  name: string;
  edit?: (doc: any, c: CaseContext) => void;
  text?: (good: string, c: CaseContext) => string;
  plant?: (c: CaseContext) => void;
  /** The YAML path of the one issue expected ('' for the document), and its message. */
  path: RegExp;
  message: RegExp;
}

/** The case's registry text, made from `good` (its files planted first). */
export function hostileText(k: HostileCase, good: string, c: CaseContext): string {
  k.plant?.(c);
  let text = good;
  if (k.edit) {
    const doc = YAML.parse(good);
    k.edit(doc, c);
    text = YAML.stringify(doc, { lineWidth: 0 });
  }
  return k.text ? k.text(text, c) : text;
}

const adapterOf = (d: any): any => d.adapters[d.followers[0].adapter];
const touch = (c: CaseContext) => `touch\${IFS}${c.mark}`;

export const HOSTILE_CASES: HostileCase[] = [
  // 1. files outside the registry's directory
  {
    cls: 'files outside',
    name: 'configRef: a symlink to a file outside',
    plant: (c) => symlinkSync(path.join(c.outside, 'secret.txt'), path.join(c.dir, 'link.yaml')),
    edit: (d) => (d.followers[0].target.configRef = 'link.yaml'),
    path: /^followers\[0\]\.target\.configRef$/,
    message: /leads outside the registry's directory .* through a symbolic link/,
  },
  {
    cls: 'files outside',
    name: 'configRef: through a symlinked directory',
    plant: (c) => symlinkSync(c.outside, path.join(c.dir, 'linkdir')),
    edit: (d) => (d.followers[0].target.configRef = 'linkdir/secret.txt'),
    path: /^followers\[0\]\.target\.configRef$/,
    message: /leads outside the registry's directory/,
  },
  {
    cls: 'files outside',
    name: 'configRef: a chain of links',
    plant: (c) => {
      symlinkSync(path.join(c.outside, 'secret.txt'), path.join(c.dir, 'hop2.yaml'));
      symlinkSync('hop2.yaml', path.join(c.dir, 'hop1.yaml'));
    },
    edit: (d) => (d.followers[0].target.configRef = 'hop1.yaml'),
    path: /^followers\[0\]\.target\.configRef$/,
    message: /leads outside the registry's directory/,
  },
  {
    cls: 'files outside',
    name: 'configRef: absolute',
    edit: (d) => (d.followers[0].target.configRef = '/etc/hostname'),
    path: /^followers\[0\]\.target\.configRef$/,
    message: /must be a path inside the registry's directory/,
  },
  {
    cls: 'files outside',
    name: 'configRef: ..',
    edit: (d) => (d.followers[0].target.configRef = '../secret.txt'),
    path: /^followers\[0\]\.target\.configRef$/,
    message: /must be a path inside the registry's directory/,
  },
  {
    cls: 'files outside',
    name: 'template: a symlink to a file outside',
    plant: (c) => symlinkSync(path.join(c.outside, 'secret.txt'), path.join(c.dir, 'job.yaml')),
    edit: (d) =>
      (d.adapters.job = {
        kind: 'kubernetes-job',
        namespace: 'lanes',
        template: 'job.yaml',
        checks: { done: { kind: 'kubernetes-job', retryable: false } },
      }),
    path: /^adapters\.job\.template$/,
    message: /leads outside the registry's directory/,
  },
  // 2. credentials in URLs
  {
    cls: 'credentials',
    name: 'token as the user of an https URL',
    edit: (d) =>
      (d.followers[0].source.mirror = 'https://ghp_0123456789abcdefghijklmnopqrstuvwxyz@git.example.com/org/app.git'),
    path: /^followers\[0\]\.source\.mirror$/,
    message: /user part that may be a credential.*source\.auth/,
  },
  {
    cls: 'credentials',
    name: 'user and password',
    edit: (d) => (d.followers[0].source.mirror = 'https://ci:hunter2@git.example.com/org/app.git'),
    path: /^followers\[0\]\.source\.mirror$/,
    message: /carries a password/,
  },
  {
    cls: 'credentials',
    name: 'user on a git:// URL',
    edit: (d) => (d.followers[0].source.mirror = 'git://x-access-token@git.example.com/org/app.git'),
    path: /^followers\[0\]\.source\.mirror$/,
    message: /user part that may be a credential/,
  },
  {
    cls: 'credentials',
    name: 'token as an ssh login',
    edit: (d) => (d.followers[0].source.mirror = 'ssh://glpat-0123456789ABCDEFGHIJ@git.example.com/org/app.git'),
    path: /^followers\[0\]\.source\.mirror$/,
    message: /user part that may be a credential/,
  },
  {
    cls: 'credentials',
    name: 'percent-encoded user',
    edit: (d) => (d.followers[0].source.mirror = 'http://%74oken%31@git.example.com/org/app.git'),
    path: /^followers\[0\]\.source\.mirror$/,
    message: /user part that may be a credential/,
  },
  // 3. query injection through names
  {
    cls: 'query injection',
    name: 'taskQueue with a quote',
    edit: (d) => (d.controller.temporal.taskQueue = "q' OR ExecutionStatus='Running"),
    path: /^controller\.temporal\.taskQueue$/,
    message: /expected a plain name/,
  },
  {
    cls: 'query injection',
    name: 'namespace with a quote',
    edit: (d) => (d.controller.temporal.namespace = "default' OR 'a'='a"),
    path: /^controller\.temporal\.namespace$/,
    message: /expected a plain name/,
  },
  {
    cls: 'query injection',
    name: 'taskQueue with a backslash',
    edit: (d) => (d.controller.temporal.taskQueue = 'q\\'),
    path: /^controller\.temporal\.taskQueue$/,
    message: /expected a plain name/,
  },
  // 5. durations and numbers out of range
  {
    cls: 'ranges',
    name: 'pollInterval 0s',
    edit: (d) => (d.defaults.pollInterval = '0s'),
    path: /^defaults\.pollInterval$/,
    message: /0s is out of range: write a duration between 10ms and 24h/,
  },
  {
    cls: 'ranges',
    name: 'observe timeout 0s',
    edit: (d) => (d.defaults.observe.timeout = '0s'),
    path: /^defaults\.observe\.timeout$/,
    message: /out of range/,
  },
  {
    cls: 'ranges',
    name: 'close-out budget 0s',
    edit: (d) => (d.defaults.closeout.budget = '0s'),
    path: /^defaults\.closeout\.budget$/,
    message: /out of range: write a duration between 1s and 24h/,
  },
  {
    cls: 'ranges',
    name: 'adapter timeout 0s',
    edit: (d) => (adapterOf(d).timeout = '0s'),
    path: /^adapters\.\w+\.timeout$/,
    message: /out of range/,
  },
  {
    cls: 'ranges',
    name: 'heartbeat timeout 0s',
    edit: (d) => (d.defaults.activity.heartbeatTimeout = '0s'),
    path: /^defaults\.activity\.heartbeatTimeout$/,
    message: /out of range/,
  },
  {
    cls: 'ranges',
    name: 'workflow task timeout 0s',
    edit: (d) => (d.controller.temporal.workflowTaskTimeout = '0s'),
    path: /^controller\.temporal\.workflowTaskTimeout$/,
    message: /out of range: write a duration between 1s and 2m/,
  },
  {
    cls: 'ranges',
    name: 'a 30-day budget (past what a timer can wait)',
    edit: (d) => (d.followers[0].closeout.budget = '720h'),
    path: /^followers\[0\]\.closeout\.budget$/,
    message: /720h is out of range/,
  },
  {
    cls: 'ranges',
    name: 'an adapter timeout of 25 days',
    edit: (d) => (d.defaults.adapter.timeout = '600h'),
    path: /^defaults\.adapter\.timeout$/,
    message: /out of range/,
  },
  {
    cls: 'ranges',
    name: 'retry attempts 0',
    edit: (d) => (d.defaults.retry.maxAttempts = 0),
    path: /^defaults\.retry\.maxAttempts$/,
    message: /0 is out of range: write a whole number between 1 and 100/,
  },
  {
    cls: 'ranges',
    name: 'retry attempts a million',
    edit: (d) => (d.defaults.retry.maxAttempts = 1_000_000),
    path: /^defaults\.retry\.maxAttempts$/,
    message: /out of range/,
  },
  {
    cls: 'ranges',
    name: 'shasKept negative',
    edit: (d) => (d.defaults.loop.shasKept = -1),
    path: /^defaults\.loop\.shasKept$/,
    message: /out of range/,
  },
  {
    cls: 'ranges',
    name: 'backoff coefficient below 1',
    edit: (d) => (d.defaults.retry.backoffCoefficient = 0.5),
    path: /^defaults\.retry\.backoffCoefficient$/,
    message: /write a factor between 1 and 10/,
  },
  {
    cls: 'ranges',
    name: 'output cap of 10 bytes',
    edit: (d) => (d.defaults.adapter.maxOutputBytes = 10),
    path: /^defaults\.adapter\.maxOutputBytes$/,
    message: /out of range/,
  },
  // 6. confusable names
  {
    cls: 'confusables',
    name: 'branch with a Cyrillic а',
    edit: (d) => (d.followers[0].source.branch = 'm\u0430in'),
    path: /^followers\[0\]\.source\.branch$/,
    message: /branch name "m\\u0430in" mixes Latin and Cyrillic letters \(U\+0430\)/,
  },
  {
    cls: 'confusables',
    name: 'branch with a right-to-left override',
    edit: (d) => (d.followers[0].source.branch = 'ma\u202ein'),
    path: /^followers\[0\]\.source\.branch$/,
    message: /U\+202E \(RIGHT-TO-LEFT OVERRIDE\)/,
  },
  {
    cls: 'confusables',
    name: 'branch with a zero-width space',
    edit: (d) => (d.followers[0].source.branch = 'ma\u200bin'),
    path: /^followers\[0\]\.source\.branch$/,
    message: /U\+200B \(ZERO WIDTH SPACE\)/,
  },
  {
    cls: 'confusables',
    name: 'mirror host with a Cyrillic і',
    edit: (d) => (d.followers[0].source.mirror = 'git://g\u0456thub.com/org/app.git'),
    path: /^followers\[0\]\.source\.mirror$/,
    message: /host "g\\u0456thub\.com" is not ASCII.*xn--/,
  },
  {
    cls: 'confusables',
    name: 'repository path with a Greek ο',
    edit: (d) => (d.followers[0].source.mirror = 'git://git.example.com/\u03bfrg/app.git'),
    path: /^followers\[0\]\.source\.mirror$/,
    message: /mixes Greek and Latin letters|mixes Latin and Greek letters/,
  },
  {
    cls: 'confusables',
    name: 'key with a lookalike letter',
    edit: (d) => {
      d.followers[0]['en\u0430bled'] = d.followers[0].enabled;
      delete d.followers[0].enabled;
    },
    path: /^followers\[0\]\.en.bled$/,
    message: /unknown key "en\\u0430bled": did you mean "enabled"\?/,
  },
  {
    cls: 'confusables',
    name: 'argv with a bidi isolate',
    edit: (d) => adapterOf(d).status.argv.push('x\u2066y'),
    path: /^adapters\.\w+\.status\.argv\[\d+\]$/,
    message: /U\+2066/,
  },
  // 7. option-like hosts and components
  {
    cls: 'option-like',
    name: 'ssh host as an option',
    edit: (d, c) => (d.followers[0].source.mirror = `ssh://-oProxyCommand=${touch(c)}/x.git`),
    path: /^followers\[0\]\.source\.mirror$/,
    message: /could read as an option/,
  },
  {
    cls: 'option-like',
    name: 'path component as an option',
    edit: (d) => (d.followers[0].source.mirror = 'ssh://git@git.example.com/-oProxyCommand=x.git'),
    path: /^followers\[0\]\.source\.mirror$/,
    message: /could read as an option/,
  },
  {
    cls: 'option-like',
    name: 'git:// host as an option',
    edit: (d) => (d.followers[0].source.mirror = 'git://-host.example.com/app.git'),
    path: /^followers\[0\]\.source\.mirror$/,
    message: /could read as an option/,
  },
  // 8. shell syntax in paths, NUL in argv
  {
    cls: 'shell in paths',
    name: 'configRef named $(…)',
    plant: (c) => writeFileSync(path.join(c.dir, `$(touch\${IFS}${path.basename(c.mark)}).yaml`), 'lanes: {}\n'),
    edit: (d, c) => (d.followers[0].target.configRef = `$(touch\${IFS}${path.basename(c.mark)}).yaml`),
    path: /^followers\[0\]\.target\.configRef$/,
    message: /is not a plain path/,
  },
  {
    cls: 'shell in paths',
    name: 'configRef that reads as an option',
    plant: (c) => writeFileSync(path.join(c.dir, '-rf.yaml'), 'lanes: {}\n'),
    edit: (d) => (d.followers[0].target.configRef = '-rf.yaml'),
    path: /^followers\[0\]\.target\.configRef$/,
    message: /is not a plain path/,
  },
  {
    cls: 'shell in paths',
    name: 'template named with ;',
    plant: (c) => {
      mkdirSync(path.join(c.dir, 'x'), { recursive: true });
      writeFileSync(path.join(c.dir, 'x', 'a;b.yaml'), 'apiVersion: batch/v1\nkind: Job\n');
    },
    edit: (d) =>
      (d.adapters.job = {
        kind: 'kubernetes-job',
        namespace: 'lanes',
        template: 'x/a;b.yaml',
        checks: { done: { kind: 'kubernetes-job', retryable: false } },
      }),
    path: /^adapters\.job\.template$/,
    message: /is not a plain path/,
  },
  {
    cls: 'shell in paths',
    name: 'NUL byte in argv',
    edit: (d) => adapterOf(d).trigger.argv.push('a\u0000b'),
    path: /^adapters\.\w+\.trigger\.argv\[\d+\]$/,
    message: /U\+0000 \(NUL\)/,
  },
  // 9. YAML resource attacks and dialects
  {
    cls: 'YAML attacks',
    name: 'alias bomb',
    text: (good) => {
      const lines = ['x0: &x0 ["a","a","a","a","a","a","a","a","a","a"]'];
      for (let i = 1; i < 9; i++)
        lines.push(
          `x${i}: &x${i} [${Array(10)
            .fill(`*x${i - 1}`)
            .join(',')}]`,
        );
      return `${good}\n${lines.join('\n')}\n`;
    },
    path: /^$/,
    message: /aliases expand past \d+ copies/,
  },
  {
    cls: 'YAML attacks',
    name: 'flow nesting 100 deep',
    text: (good) => `${good}\nextra: ${'['.repeat(100)}${']'.repeat(100)}\n`,
    path: /^$/,
    message: /flow collections nest deeper than 64 levels/,
  },
  {
    cls: 'YAML attacks',
    name: 'flow nesting 20 000 deep (would exhaust the parser)',
    text: (good) => `${good}\nextra: ${'['.repeat(20_000)}${']'.repeat(20_000)}\n`,
    path: /^$/,
    message: /flow collections nest deeper than 64 levels/,
  },
  {
    cls: 'YAML attacks',
    name: 'a registry over 1 MiB',
    text: (good) => `${good}\n# ${'x'.repeat(1100 * 1024)}\n`,
    path: /^$/,
    message: /over the 1048576-byte limit/,
  },
  {
    cls: 'YAML attacks',
    name: 'duplicate key',
    text: (good) => good.replace(/^(\s*)enabled: true$/m, '$1enabled: true\n$1enabled: false'),
    path: /^followers\[0\]\.enabled$/,
    message: /duplicate key "enabled"/,
  },
  {
    cls: 'YAML attacks',
    name: '%YAML 1.1 directive',
    text: (good) => `%YAML 1.1\n---\n${good}`,
    path: /^$/,
    message: /%YAML 1\.1 is not read here/,
  },
  {
    cls: 'YAML attacks',
    name: '!!js/function tag',
    text: (good) => good.replace(/^(\s*)enabled: true$/m, '$1enabled: !!js/function "function () {}"'),
    path: /^followers\[0\]\.enabled$/,
    message: /tag !!js\/function is not supported/,
  },
  {
    cls: 'YAML attacks',
    name: 'merge key',
    text: (good) =>
      `${good.replace(/^followers:/m, 'x-common: &common { enabled: true }\nfollowers:')}`.replace(
        /^(\s*)enabled: true$/m,
        '$1<<: *common',
      ),
    path: /<<$/,
    message: /merge keys \(<<\) are not YAML 1\.2/,
  },
  // 10. messages that say what to write
  {
    cls: 'messages',
    name: 'enabled: yes',
    text: (good) => good.replace(/^(\s*)enabled: true$/m, '$1enabled: yes'),
    path: /^followers\[0\]\.enabled$/,
    message: /found the string "yes": write true or false/,
  },
  {
    cls: 'messages',
    name: 'a bare number where a duration belongs',
    edit: (d) => (d.defaults.closeout.budget = 120),
    path: /^defaults\.closeout\.budget$/,
    message: /a bare number has no unit: write 120s or 120ms/,
  },
  { cls: 'messages', name: 'an empty file', text: () => '', path: /^$/, message: /the registry is empty/ },
  {
    cls: 'messages',
    name: 'a misspelt required key',
    edit: (d) => {
      d.followers[0].enabeld = d.followers[0].enabled;
      delete d.followers[0].enabled;
    },
    path: /^followers\[0\]\.enabeld$/,
    message: /unknown key "enabeld": did you mean "enabled"\?/,
  },
  {
    cls: 'messages',
    name: 'a list where a map belongs',
    edit: (d) => (d.defaults.observe = ['poll']),
    path: /^defaults\.observe$/,
    message: /./,
  },
];
