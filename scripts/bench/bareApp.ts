import { readFileSync } from 'node:fs';
import { App } from '@slack/bolt';

/*
 * The baselines for ack latency: a Bolt app in HTTP mode whose /image-builder handler only acks and opens a modal:
 * a one-field one, or, given a file of a view's JSON, that view (the bot's own form, so that both send, and the fake
 * Slack checks and echoes, the same bytes). Arguments: signing secret, bot token, Slack API URL [, view file]. Logs
 * its port as the bot does.
 */

const ONE_FIELD_MODAL = {
  type: 'modal',
  callback_id: 'bare',
  title: { type: 'plain_text', text: 'Bare' },
  submit: { type: 'plain_text', text: 'Go' },
  blocks: [
    {
      type: 'input',
      block_id: 'name',
      label: { type: 'plain_text', text: 'Name' },
      element: { type: 'plain_text_input', action_id: 'name' },
    },
  ],
};

async function main() {
  const [signingSecret, token, slackApiUrl, viewFile] = process.argv.slice(2);
  // A form from a file goes as the JSON string Slack takes, as the bot sends its own.
  const view = viewFile ? readFileSync(viewFile, 'utf8') : ONE_FIELD_MODAL;
  const app = new App({ signingSecret: signingSecret!, token: token!, clientOptions: { slackApiUrl: slackApiUrl! } });
  app.command('/image-builder', async ({ ack, client, body }) => {
    await ack();
    await client.views.open({ trigger_id: body.trigger_id, view: view as never });
  });
  const server = (await app.start(0)) as { address(): { port: number } };
  process.stderr.write(`${JSON.stringify({ msg: 'bare app running', port: server.address().port })}\n`);
}

void main();
