import { App } from '@slack/bolt';

/*
 * The baseline for ack latency: a Bolt app in HTTP mode whose /image-builder handler only acks and opens a
 * one-field modal. Arguments: signing secret, bot token, Slack API URL. Logs its port as the bot does.
 */

async function main() {
  const [signingSecret, token, slackApiUrl] = process.argv.slice(2);
  const app = new App({ signingSecret: signingSecret!, token: token!, clientOptions: { slackApiUrl: slackApiUrl! } });
  app.command('/image-builder', async ({ ack, client, body }) => {
    await ack();
    await client.views.open({
      trigger_id: body.trigger_id,
      view: {
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
      },
    });
  });
  const server = (await app.start(0)) as { address(): { port: number } };
  process.stderr.write(`${JSON.stringify({ msg: 'bare app running', port: server.address().port })}\n`);
}

void main();
