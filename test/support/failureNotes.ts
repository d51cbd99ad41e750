/*
 * Lines a test wants read only when it fails: the seed to rerun it with, what happened on the way. A passing run
 * prints nothing; a failure or a timeout prints them after the test, beside Jest's report. When the reliability
 * report runs the tests (FAULT_REPORT_FILE set) they are printed anyway: it reads the kill -9 summaries from them.
 *
 *   const notes = failureNotes();
 *   it('…', notes.test(async () => { notes.add(`rerun with SEED=${seed}`); … }), TIMEOUT_MS);
 */
export function failureNotes(): {
  add(line: string): void;
  test<Args extends unknown[]>(body: (...args: Args) => Promise<void>): (...args: Args) => Promise<void>;
} {
  let lines: string[] = [];
  let finished = false;
  beforeEach(() => {
    lines = [];
    finished = false;
  });
  afterEach(() => {
    if ((!finished || process.env.FAULT_REPORT_FILE) && lines.length > 0) console.log(lines.join('\n'));
  });
  return {
    add: (line) => {
      lines.push(line);
    },
    test:
      <Args extends unknown[]>(body: (...args: Args) => Promise<void>) =>
      async (...args: Args) => {
        await body(...args);
        finished = true;
      },
  };
}
