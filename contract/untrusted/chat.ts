// Text for chat webhooks (Slack, Mattermost, Google Chat: `text`; Discord: `content`). One body
// serves them all, so each value we did not write is put where none of their formats acts on it:
// an inline code span, which every one of them shows verbatim — no emphasis, link, image or
// mention is made inside it (Slack mrkdwn, Mattermost and Discord markdown, Google Chat's text
// formatting). Its backticks become apostrophes (Slack's code spans have no longer fences), and
// `&`, `<` and `>` become Slack's documented escapes (&amp; &lt; &gt;), because Slack and Google
// Chat read `<!channel>`, `<@U…>`, `<users/all>` and `<url|text>` control sequences even there.
// White space is one space; controls, bidi and invisible characters are shown escaped; long values are cut.
import { cut, proseLine } from './characters.ts';

/** How much of one value a chat line shows; the Temporal UI link has the rest. */
export const CHAT_VALUE_MAX = 200;

const SLACK_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;' };

/** `text` as an inert inline code span in a chat message. */
export function chatLiteral(text: string, max = CHAT_VALUE_MAX): string {
  const value = cut(proseLine(text), max)
    .replace(/`/g, "'")
    .replace(/[&<>]/g, (ch) => SLACK_ESCAPES[ch]!);
  return `\`${value}\``;
}
