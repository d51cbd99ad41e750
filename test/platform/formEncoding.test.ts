import querystring from 'node:querystring';
import { encodeFormsNatively } from '../../src/platform/formEncoding';

/*
 * The Web API's form bodies are the same text with encodeURIComponent as with Node's own querystring.escape: for
 * every character, and for what the client sends (a compose form's view as JSON among its fields).
 */

const nodeEscape = querystring.escape;
// Core modules are shared by the test files of a worker: put Node's own back.
afterEach(() => {
  querystring.escape = nodeEscape;
});

const everyCharacter = () => {
  const characters: string[] = [];
  for (let code = 0; code <= 0xffff; code += 1) {
    if (code < 0xd800 || code > 0xdfff) characters.push(String.fromCharCode(code));
  }
  return characters;
};

it('escapes every character as Node does, and refuses a lone surrogate as Node does', () => {
  const differing = everyCharacter().filter((character) => encodeURIComponent(character) !== nodeEscape(character));
  expect(differing).toEqual([]);
  for (const astral of ['\u{1F680}', '\u{10FFFF}']) expect(encodeURIComponent(astral)).toBe(nodeEscape(astral));
  // Node's error comes from its own realm, not the test's: compared by message.
  for (const lone of ['\ud800', 'x\udfff']) {
    expect(() => nodeEscape(lone)).toThrow('URI malformed');
    expect(() => encodeURIComponent(lone)).toThrow('URI malformed');
  }
});

it('gives querystring.stringify, as the Web API client calls it, the same body as before', () => {
  const view = JSON.stringify({
    type: 'modal',
    title: { type: 'plain_text', text: 'Build an image: AWS' },
    blocks: [
      {
        type: 'section',
        text: { type: 'mrkdwn', text: "*RHEL 9* \u2014 x86_64 & aarch64, 100% \u{1F680} 'q' (a+b)=c ~!*" },
      },
    ],
    private_metadata: '{"provider":"aws","channelId":"C1"}',
  });
  const body = { team_id: undefined, trigger_id: '1234.5678.abcdef', view, count: 3, ok: true };
  const before = querystring.stringify(body);
  encodeFormsNatively();
  expect(querystring.escape).toBe(encodeURIComponent);
  expect(querystring.stringify(body)).toBe(before);
  expect(querystring.parse(before).view).toBe(view);
});
