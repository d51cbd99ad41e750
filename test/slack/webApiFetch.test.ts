import { answerOf } from '../../src/slack/webApiFetch';

describe('reading ok and error from a Web API answer', () => {
  it('recognises a success from its start, however large what follows', () => {
    expect(answerOf(`{"ok":true,"view":${JSON.stringify({ blocks: 'x'.repeat(100_000) })}}`)).toEqual({ ok: true });
    expect(answerOf(' { "ok" : true }')).toEqual({ ok: true });
  });

  it('parses anything else whole: an error, or ok written later in the object', () => {
    expect(answerOf('{"ok":false,"error":"ratelimited"}')).toEqual({ ok: false, error: 'ratelimited' });
    expect(answerOf('{"channel":"C1","ok":true}')).toMatchObject({ ok: true });
    // "ok":true only as the start of a longer key is not a success.
    expect(answerOf('{"ok":trueish}')).toBeUndefined();
  });

  it('says nothing of an answer that is not a JSON object', () => {
    expect(answerOf('<html>502 Bad Gateway</html>')).toBeUndefined();
    expect(answerOf('null')).toBeUndefined();
  });
});
