import type { AddressInfo } from 'node:net';
import { setTimeout } from 'node:timers/promises';
import { App, HTTPModuleFunctions, HTTPReceiver, SocketModeReceiver } from '@slack/bolt';
import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import type { BotConfig } from '../config/config';
import type { SlackClients } from './clients';
import { httpServerOptions, limitClients, type HttpLimits } from './httpLimits';
import { verifyAppToken, verifyBotToken, type SlackIdentity } from './slackIdentity';
import { slackLogger } from './slackLogger';

/*
 * Bolt and the way Slack reaches it: HTTP mode (/slack/events, with limits on clients) or Socket Mode. Health,
 * readiness and metrics are not Bolt's custom routes: they have their own server (platform/operations.ts), so
 * /slack/events' port carries nothing else, and Socket Mode opens no HTTP port at all.
 */

/** Socket Mode's stop resolves before the WebSocket has closed; it is given this long to say goodbye. */
export const SOCKET_CLOSE_GRACE_MS = 500;

/** Told whether Socket Mode's WebSocket is up: readiness follows it, not only the Web API answers. */
export interface SocketObserver {
  socketState(connected: boolean): void;
}

export interface SlackApp {
  /** Where the listeners are registered. */
  bolt: App;
  /** The installation, known once the tokens have been checked. */
  identity: () => SlackIdentity | undefined;
  /** Asks Slack whether the tokens are good (a refusal names the variable); Slack requests are served only after. */
  verifyTokens(): Promise<void>;
  /** Starts taking Slack's requests; resolves with the port of /slack/events in HTTP mode. */
  listen(): Promise<number | undefined>;
  stop(): Promise<void>;
}

/**
 * A signed request whose payload lacks what its type promises (a view_submission without its view) makes Bolt
 * throw a TypeError while routing it: that is the sender's fault, so it gets a 400 rather than Bolt's 500. Other
 * errors keep Bolt's handling. Either way the error is logged.
 */
const answerMalformedWith400: NonNullable<
  ConstructorParameters<typeof HTTPReceiver>[0]['processEventErrorHandler']
> = async (args) => {
  const error: unknown = args.error;
  const originals = (error as { originals?: unknown[] }).originals;
  // Several listeners may have failed on the same malformed payload; Bolt then wraps their errors in one.
  const malformed =
    error instanceof TypeError ||
    (Array.isArray(originals) && originals.length > 0 && originals.every((e) => e instanceof TypeError));
  if (malformed && !args.response.headersSent) {
    args.logger.warn(
      `Refused a malformed Slack payload: ${String((originals?.[0] as Error | undefined)?.message ?? (error as Error).message)}`,
    );
    args.response.writeHead(400);
    args.response.end();
    return false;
  }
  return HTTPModuleFunctions.defaultProcessEventErrorHandler(args);
};

export function createSlackApp(deps: {
  config: Pick<BotConfig, 'slack' | 'port'>;
  logger: Logger;
  clients: SlackClients;
  outbound: Dispatcher;
  httpLimits: HttpLimits;
  health: SocketObserver;
}): SlackApp {
  const { config, clients, httpLimits } = deps;
  const { appToken } = config.slack;
  const boltLogger = slackLogger(deps.logger, 'bolt');
  const receiver = appToken
    ? new SocketModeReceiver({
        appToken,
        logger: boltLogger,
        dispatcher: deps.outbound,
        installerOptions: { clientOptions: clients.options },
      })
    : new HTTPReceiver({
        signingSecret: config.slack.signingSecret!,
        endpoints: '/slack/events',
        port: config.port,
        logger: boltLogger,
        processEventErrorHandler: answerMalformedWith400,
        bodyLimit: httpLimits.maxBodyBytes,
      });
  // No conversation store: the bot keeps no per-conversation state in Bolt, and the default one builds an Error
  // ("Conversation not found") for every command, button and submission before a listener runs.
  // No token here: with one, Bolt's constructor calls auth.test and nothing can catch its refusal. verifyTokens()
  // asks Slack itself first (slackIdentity.ts), and Bolt takes the answer from `authorize`.
  let identity: SlackIdentity | undefined;
  const bolt = new App({
    receiver,
    clientOptions: clients.options,
    logger: boltLogger,
    convoStore: false,
    authorize: async ({ isEnterpriseInstall }) => {
      if (!identity) throw new Error('a Slack request arrived before the bot had started');
      return {
        isEnterpriseInstall,
        botToken: config.slack.botToken,
        botId: identity.botId,
        botUserId: identity.botUserId,
      };
    },
  });

  return {
    bolt,
    identity: () => identity,
    async verifyTokens() {
      identity = await verifyBotToken(clients.background);
      if (appToken) await verifyAppToken(clients.appLevel(appToken));
    },
    async listen() {
      if (receiver instanceof SocketModeReceiver) {
        await receiver.start();
        deps.health.socketState(true);
        receiver.client.on('connected', () => deps.health.socketState(true));
        receiver.client.on('disconnected', () => deps.health.socketState(false));
        return undefined;
      }
      const server = await receiver.start(config.port, httpServerOptions(httpLimits));
      limitClients(server, httpLimits);
      if (!server.listening) await new Promise((resolve) => server.once('listening', resolve));
      return (server.address() as AddressInfo | null)?.port ?? config.port;
    },
    async stop() {
      await bolt.stop();
      if (receiver instanceof SocketModeReceiver) await setTimeout(SOCKET_CLOSE_GRACE_MS);
    },
  };
}
