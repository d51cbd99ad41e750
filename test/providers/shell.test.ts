import fc from 'fast-check';
import { shellCommand, shellQuote } from '../../src/providers/shell';
import { HOSTILE_VALUES } from './support/fixtures';
import { runWithPrintf, SHELLS } from './support/shell';

describe('shellQuote', () => {
  it.each(['ami-0c830793775595d4b', 'us-east-1', 't4g.micro', 'user:alice@example.com', '--count', '50%', 'a=b'])(
    'leaves the plain word %p bare so the command reads naturally',
    (word) => {
      expect(shellQuote(word)).toBe(word);
    },
  );

  it.each([
    ["it's", `'it'\\''s'`],
    ['', `''`],
    ['two words', `'two words'`],
    ['$(id)', `'$(id)'`],
    ['`id`', `'\`id\`'`],
    ['a;b', `'a;b'`],
    ['line\nbreak', `'line\nbreak'`],
    ['=ls', `'=ls'`], // zsh would expand a bare =ls to /bin/ls
    ['~root', `'~root'`],
    ['*', `'*'`],
    ['ünï', `'ünï'`],
  ])('single-quotes %p', (value, expected) => {
    expect(shellQuote(value)).toBe(expected);
  });
});

describe('shellCommand', () => {
  it('quotes values and keeps flags bare', () => {
    expect(shellCommand('aws', ['ec2', ['--image-id', 'ami-1'], ['--name', "Bob's image"]])).toBe(
      `aws ec2 --image-id ami-1 --name 'Bob'\\''s image'`,
    );
  });

  it('attaches a value that starts with "-" to its flag so the CLI cannot read it as an option', () => {
    const command = shellCommand('aws', ['ec2', ['--image-id', '--dry-run']]);
    expect(command).toBe('aws ec2 --image-id=--dry-run');
    expect(runWithPrintf(command).argv).toEqual(['aws', 'ec2', '--image-id=--dry-run']);
  });

  describe.each(SHELLS)('pasted into %s', (shell) => {
    it('passes every hostile value through as exactly one inert argument', () => {
      const args = HOSTILE_VALUES.map((value) => ['--value', value] as const);
      const run = runWithPrintf(shellCommand('tool', args), shell);
      const expected = HOSTILE_VALUES.flatMap((value) =>
        value.startsWith('-') ? [`--value=${value}`] : ['--value', value],
      );
      expect(run.argv).toEqual(['tool', ...expected]);
      expect(run.created).toEqual([]);
    });

    it('passes any text through unchanged as one argument', () => {
      // A process argument cannot hold NUL; everything else must survive, including controls and astral characters.
      const anyText = fc.string({ unit: 'binary', maxLength: 60 }).filter((s) => !s.includes('\0'));
      fc.assert(
        fc.property(fc.array(anyText, { minLength: 1, maxLength: 20 }), (values) => {
          const run = runWithPrintf(
            shellCommand(
              'tool',
              values.map((v) => ['--v', v] as const),
            ),
            shell,
          );
          expect(run.argv).toEqual(['tool', ...values.flatMap((v) => (v.startsWith('-') ? [`--v=${v}`] : ['--v', v]))]);
          expect(run.created).toEqual([]);
        }),
        { numRuns: 60 },
      );
    });
  });
});
