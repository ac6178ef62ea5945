// Run by tsx in test/unit/cli-local.test.ts: what the lazily loaded CommonJS clients look like to a
// TypeScript module under tsx (the scripts' loader), where a namespace's `default` may be absent.
import { commonJs } from '../../client/common-js.ts';

const found = [
  typeof commonJs(await import('@temporalio/client')).Connection,
  typeof commonJs(await import('@temporalio/envconfig')).loadClientConfigProfile,
  typeof commonJs(await import('@temporalio/proto')).temporal.api.enums.v1.TaskQueueKind,
];
console.log(found.join(' '));
