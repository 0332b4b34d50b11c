// The kiosk applies the consent rules it is given; here, the rules the server renders today
// (diaryroom.domain.consent.client_rules) and a made-up set, to show nothing is hard-coded.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { allowedVoices, consentFrom, voiceFor, voiceOpen } from '../../static/kiosk/consent.js';

const RULES = {
  defaults: { audience: 'team', voice: 'disguise', panel_quotes: false },
  audiences: ['team', 'organisation', 'public'],
  voices: { team: ['disguise'], organisation: ['disguise', 'natural'],
            public: ['disguise', 'natural'] },
  voicelessKinds: ['text'],
};

test('the team locks the voice; wider audiences leave it open', () => {
  assert.equal(voiceOpen(RULES, 'team', 'audio'), false);
  assert.equal(voiceOpen(RULES, 'organisation', 'audio'), true);
  assert.equal(voiceOpen(RULES, 'public', 'video'), true);
});

test('writing has no voice to choose', () => {
  assert.deepEqual(allowedVoices(RULES, 'public', 'text'), ['disguise']);
  assert.equal(voiceFor(RULES, 'public', 'natural', 'text'), 'disguise');
});

test('a wanted voice is kept only where it is open', () => {
  assert.equal(voiceFor(RULES, 'team', 'natural', 'audio'), 'disguise');
  assert.equal(voiceFor(RULES, 'public', 'natural', 'audio'), 'natural');
  assert.equal(voiceFor(RULES, 'public', 'robot', 'audio'), 'disguise');
});

test('consentFrom builds the object the server takes', () => {
  assert.deepEqual(
    consentFrom(RULES, { audience: 'organisation', wantsDisguise: false, panelQuotes: 1 }, 'audio'),
    { audience: 'organisation', voice: 'natural', panel_quotes: true });
  assert.deepEqual(
    consentFrom(RULES, { audience: 'team', wantsDisguise: false, panelQuotes: false }, 'video'),
    { audience: 'team', voice: 'disguise', panel_quotes: false });
  // Something the rules do not know falls back to the safe default.
  assert.deepEqual(
    consentFrom(RULES, { audience: 'everyone', wantsDisguise: false }, 'audio'),
    { audience: 'team', voice: 'disguise', panel_quotes: false });
});

test('the rules are applied as given, not remembered', () => {
  const stricter = { ...RULES, voices: { ...RULES.voices, organisation: ['disguise'] } };
  assert.equal(voiceOpen(stricter, 'organisation', 'audio'), false);
  assert.equal(voiceFor(stricter, 'organisation', 'natural', 'audio'), 'disguise');
});
