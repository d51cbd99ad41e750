/*
 * What a Slack client shows, as plain text for a terminal: Block Kit blocks and their mrkdwn (bold, code, mentions,
 * links, entities) rendered the way a person reads them. Pure; the demo prints what it returns.
 */

export interface TerminalNames {
  /** The display name of a Slack user id (U…), if known. */
  user(id: string): string | undefined;
  /** The name of a channel id (C…), if known. */
  channel(id: string): string | undefined;
}

const CODE_BLOCK = /```([\s\S]*?)```/g;
const INLINE_CODE = /`([^`\n]+)`/g;
const ANGLE = /<([^<>\s|]+)(?:\|([^<>]*))?>/g;
// Slack formats *x*, _x_ and ~x~ only at word boundaries, so rhel_9 or 2*3*4 stay as they are.
const EMPHASIS = /(^|[\s([{"'“])([*_~])(?=\S)([^\n]*?\S)\2(?=$|[\s)\]}.,:;!?"'”])/g;
const ENTITIES: Record<string, string> = { '&lt;': '<', '&gt;': '>', '&amp;': '&' };
// <!date^1797426656^{date_long_pretty}|16 Dec 2026>: the client formats the time; its fallback text reads the same.
const DATE = /<!date\^[^|>]*\|([^>]*)>/g;
const SHORTCODE = /:([a-z0-9_+-]+):/g;
/** The emoji the bot's messages use, as a Slack client draws them; an unknown shortcode stays as written. */
const EMOJI: Readonly<Record<string, string>> = {
  arrow_up: '⬆️',
  calendar: '📅',
  card_index_dividers: '🗂️',
  grey_question: '❔',
  hammer_and_wrench: '🛠️',
  hourglass: '⌛',
  hourglass_flowing_sand: '⏳',
  no_entry: '⛔',
  outbox_tray: '📤',
  repeat: '🔁',
  warning: '⚠️',
  wastebasket: '🗑️',
  white_check_mark: '✅',
  x: '❌',
};

function angle(target: string, label: string | undefined, names: TerminalNames): string {
  if (target.startsWith('@')) return `@${label ?? names.user(target.slice(1)) ?? target.slice(1)}`;
  if (target.startsWith('#')) return `#${label ?? names.channel(target.slice(1)) ?? target.slice(1)}`;
  if (target.startsWith('!')) return `@${label ?? target.slice(1).split('^')[0]}`;
  return label && label !== target ? `${label} (${target})` : target;
}

/** One mrkdwn text as it reads: code blocks indented on their own lines, everything else unmarked. */
export function mrkdwnText(text: string, names: TerminalNames): string {
  const kept: string[] = [];
  const keep = (value: string) => `\u0000${kept.push(value) - 1}\u0000`;
  const decode = (value: string) => value.replace(/&(lt|gt|amp);/g, (entity) => ENTITIES[entity] ?? entity);
  let out = text.replace(CODE_BLOCK, (_, body: string) => {
    const lines = decode(body.replace(/^\n+|\n+$/g, '')).split('\n');
    return keep(`\n${lines.map((line) => `    ${line}`).join('\n')}\n`);
  });
  out = out.replace(INLINE_CODE, (_, code: string) => keep(decode(code)));
  out = out.replace(DATE, (_, fallback: string) => keep(decode(fallback)));
  out = out.replace(ANGLE, (_, target: string, label: string | undefined) => keep(angle(target, label, names)));
  for (let i = 0; i < 2; i++)
    out = out.replace(EMPHASIS, (_, before: string, _mark: string, inner: string) => before + inner);
  out = decode(out).replace(SHORTCODE, (code, name: string) => EMOJI[name] ?? code);
  // eslint-disable-next-line no-control-regex -- the placeholders set above
  out = out.replace(/\u0000(\d+)\u0000/g, (_, index: string) => kept[Number(index)] ?? '');
  return out.replace(/\n{3,}/g, '\n\n').replace(/^\n+|\n+$/g, '');
}

type Json = Record<string, unknown>;
const isJson = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

function textObject(value: unknown, names: TerminalNames): string | undefined {
  if (!isJson(value) || typeof value.text !== 'string') return undefined;
  return value.type === 'mrkdwn' ? mrkdwnText(value.text, names) : value.text;
}

const button = (value: unknown, names: TerminalNames) =>
  isJson(value) && value.type === 'button' ? `[ ${textObject(value.text, names) ?? 'button'} ]` : undefined;

function blockText(block: Json, names: TerminalNames): string | undefined {
  const elements = Array.isArray(block.elements) ? (block.elements as unknown[]) : [];
  switch (block.type) {
    case 'header':
      return textObject(block.text, names)?.toUpperCase();
    case 'section': {
      const fields = Array.isArray(block.fields) ? (block.fields as unknown[]) : [];
      const parts = [textObject(block.text, names), ...fields.map((f) => textObject(f, names))];
      const accessory = button(block.accessory, names);
      return [...parts, accessory].filter((p): p is string => Boolean(p)).join('\n');
    }
    case 'context':
      return elements
        .map((e) => textObject(e, names) ?? (isJson(e) && typeof e.alt_text === 'string' ? e.alt_text : undefined))
        .filter((p): p is string => Boolean(p))
        .join('  ');
    case 'actions':
      return elements
        .map((e) => button(e, names))
        .filter((p): p is string => Boolean(p))
        .join(' ');
    case 'divider':
      return '────────';
    default:
      return undefined;
  }
}

/** A message as a Slack client shows it: its blocks when it has any, else its text. */
export function messageText(message: { text: string; blocks?: unknown[] }, names: TerminalNames): string {
  const blocks = (message.blocks ?? []).filter(isJson);
  if (blocks.length === 0) return mrkdwnText(message.text, names);
  return blocks
    .map((block) => blockText(block, names))
    .filter((text): text is string => text !== undefined && text !== '')
    .join('\n');
}
