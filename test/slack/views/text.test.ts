import fc from 'fast-check';
import { shortenMarkup } from '../../../src/slack/views/text';

/*
 * Shortening text that already holds markup: whatever the text and the room, the cut falls between pieces of
 * markup, so Slack never shows half a mention, link, entity or code span.
 */

const TOKENS = [
  '<@U0123ALICE>',
  '<#C0789BUILDS|builds>',
  '<!here>',
  '<https://example.com/a?b=1&amp;c=2|a link>',
  '&amp;',
  '&lt;',
  '`code`',
  '```block\nof code```',
  '😀',
];

/** Where each token of `text` starts and ends (a cut strictly between the two is inside it). */
function tokenSpans(text: string): [number, number][] {
  return [...text.matchAll(/```[\s\S]*?```|`[^`]*`|<[^<>]*>|&[#\w]+;|[\uD800-\uDBFF][\uDC00-\uDFFF]/g)].map((m) => [
    m.index,
    m.index + m[0].length,
  ]);
}

describe('shortenMarkup', () => {
  it('leaves text that fits alone', () => {
    expect(shortenMarkup('Ask <@U0123ALICE>.', 18)).toBe('Ask <@U0123ALICE>.');
  });

  it('cuts before a mention, a channel, an entity or a code span that does not fit whole', () => {
    expect(shortenMarkup('Ask <@U0123ALICE> now', 12)).toBe('Ask …');
    expect(shortenMarkup('In <#C0789BUILDS|builds> only', 20)).toBe('In …');
    expect(shortenMarkup('R&amp;D lab', 4)).toBe('R…');
    expect(shortenMarkup('run `aws ec2 run-instances` now', 12)).toBe('run …');
  });

  it('never cuts inside a token, entity, code span or surrogate pair, and keeps within the room', () => {
    const piece = fc.oneof(
      fc.constantFrom(...TOKENS),
      fc.string({ maxLength: 6 }).map((s) => s.replace(/[<>&`]/g, '')),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 30 }), fc.integer({ min: 1, max: 200 }), (pieces, max) => {
        const text = pieces.join('');
        const short = shortenMarkup(text, max);
        expect(short.length).toBeLessThanOrEqual(Math.max(max, 1));
        if (short === text) return;
        expect(short.endsWith('…')).toBe(true);
        const kept = short.slice(0, -1);
        expect(text.startsWith(kept)).toBe(true);
        for (const [start, end] of tokenSpans(text)) expect(kept.length <= start || kept.length >= end).toBe(true);
      }),
    );
  });
});
