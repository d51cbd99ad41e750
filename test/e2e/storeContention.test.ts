import Database from 'better-sqlite3';
import { startHarness, type Harness } from './harness';

/*
 * The SQLite file locked by another connection (the CLI, a second process, a long backup) while someone submits a
 * form: Slack waits 3 seconds for the answer, so the store must give up on the lock well before, and the person is
 * told the request could not be saved instead of meeting Slack's own timeout with the form still open.
 */

let h: Harness | undefined;
afterEach(async () => h?.close());

it('answers a submission with "could not be saved" while another connection holds the write lock', async () => {
  h = await startHarness();
  const opened = h.slack.views().length;
  expect((await h.command('aws')).status).toBe(200);
  const form = await h.slack.waitFor(() => h!.slack.views()[opened], { description: 'the AWS form' });

  const holder = new Database(h.databasePath);
  holder.exec('BEGIN IMMEDIATE');
  let answer;
  try {
    answer = await h.submitModal({ distribution: 'rhel-9', share_with_accounts: '123456789012' }, 'U1', form);
  } finally {
    holder.exec('ROLLBACK');
    holder.close();
  }

  expect(answer.status).toBe(200);
  expect(answer.json).toEqual({
    response_action: 'errors',
    errors: { distribution: expect.stringMatching(/could not be saved, so nothing will be built/) as unknown },
  });
  expect(await h.store().listNewest({ limit: 10 })).toEqual([]);
});
