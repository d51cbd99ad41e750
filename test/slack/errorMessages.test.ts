import { errorSentence } from '../../src/slack/errorMessages';

it('gives each error kind its sentence, and any other word (a refusal read back from the store) the general one', () => {
  expect(errorSentence('rate-limited')).toBe('Image Builder asked the bot to slow down; try again in a minute.');
  for (const word of ['something-new', 'constructor', '__proto__', 'toString'])
    expect(errorSentence(word)).toBe('Image Builder could not do this.');
});
