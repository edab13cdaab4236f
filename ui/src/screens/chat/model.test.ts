import { describe, expect, it } from 'vitest';
import type { AgentCard, Citation } from '../../bindings';
import {
  citationItem,
  fillNames,
  findAgent,
  formatMs,
  greetingChoices,
  lastIndexWhere,
  newRequestId,
  parseCitations,
  parseTimings,
  replyDetails,
  replyStats,
  reportNote,
  stagesText,
  stopNote,
} from './model';

const timings = {
  prompt_tokens: 812,
  reused_tokens: 640,
  generated_tokens: 96,
  prefill_ms: 180.4,
  first_token_ms: 212.7,
  decode_ms: 4100,
  tokens_per_second: 23.41,
  stop: 'end_of_turn',
};

const citation: Citation = {
  n: 1,
  base: 'handbook',
  document: 'guide.pdf',
  title: 'Installation guide',
  path: '/docs/guide.pdf',
  location: 'page 4',
  page: 4,
  section: null,
  chunk_id: 17,
  ord: 3,
  excerpt: 'Run the installer and follow the steps.',
  scores: { bm25: 7.2, bm25_rank: 1, vector: 0.8123, vector_rank: 2, fused: 0.032 },
  cited: true,
};

describe('replies', () => {
  it('reads the timings the core stores, and ignores what is not there', () => {
    expect(parseTimings(timings)).toEqual({
      promptTokens: 812,
      reusedTokens: 640,
      generatedTokens: 96,
      prefillMs: 180.4,
      firstTokenMs: 212.7,
      decodeMs: 4100,
      tokensPerSecond: 23.41,
      stop: 'end_of_turn',
    });
    expect(parseTimings({ stop: { stop_string: '###' } })).toEqual({ stop: { stop_string: '###' } });
    expect(parseTimings(null)).toBeNull();
    expect(parseTimings([1, 2])).toBeNull();
    expect(parseTimings({ other: 'x' })).toBeNull();
  });

  it('says the model and speed in a line, and the rest in a tooltip', () => {
    expect(replyStats({ model: 'qwen2.5-0.5b', timings })).toBe('qwen2.5-0.5b · 23.4 tokens/s · first token 213 ms');
    expect(replyStats({ model: null, timings: null })).toBeNull();
    expect(replyStats({ model: 'm', timings: { tokens_per_second: 0 } })).toBe('m');
    expect(replyDetails({ timings })).toBe(
      '96 tokens written, prompt 812 tokens (640 reused), prompt read in 180 ms, written in 4.1 s',
    );
  });

  it('says why a reply stopped only when it did not end by itself', () => {
    expect(stopNote('cancelled')).toBe('Stopped');
    expect(stopNote('max_tokens')).toBe('Cut off at the length limit');
    expect(stopNote('context_full')).toMatch(/context/);
    expect(stopNote('end_of_turn')).toBeNull();
    expect(stopNote({ stop_string: '\n\n' })).toBeNull();
    expect(stopNote(undefined)).toBeNull();
  });

  it('formats durations', () => {
    expect(formatMs(420.4)).toBe('420 ms');
    expect(formatMs(1234)).toBe('1.2 s');
    expect(formatMs(12_600)).toBe('13 s');
    expect(formatMs(-1)).toBe('—');
  });

  it('notes turns left out and lore used', () => {
    expect(reportNote({ dropped_turns: 0, lore_entries: 0 })).toBeNull();
    expect(reportNote({ dropped_turns: 1, lore_entries: 2 })).toBe(
      '1 early turn left out to fit the context · 2 lorebook entries used',
    );
  });
});

describe('citations', () => {
  it('keeps only well-formed sources', () => {
    expect(parseCitations([citation as never, { n: 'x' }, 3])).toEqual([citation]);
    expect(parseCitations(null)).toEqual([]);
    expect(parseCitations({ n: 1 })).toEqual([]);
  });

  it('shows the document, where in it, the base, the file and why it was found', () => {
    expect(citationItem(citation)).toEqual({
      id: 'handbook:17:1',
      n: 1,
      title: 'Installation guide',
      location: 'page 4',
      source:
        'Knowledge base “handbook” · guide.pdf · /docs/guide.pdf — keyword match #1, meaning match #2 (similarity 0.81)',
      excerpt: 'Run the installer and follow the steps.',
      cited: true,
    });
    const plain = citationItem({
      ...citation,
      title: null,
      cited: false,
      scores: { bm25: null, bm25_rank: null, vector: null, vector_rank: null, fused: null },
    });
    expect(plain.title).toBe('guide.pdf');
    expect(plain.source).toBe('Knowledge base “handbook” · /docs/guide.pdf');
    expect(plain.cited).toBe(false);
  });

  it('shows the start of the passage, and nothing for replies stored before citations carried it', () => {
    expect(citationItem({ ...citation, excerpt: '  Run it.\n' }).excerpt).toBe('Run it.');
    expect(citationItem({ ...citation, excerpt: '   ' })).not.toHaveProperty('excerpt');
    const older: Record<string, unknown> = { ...citation };
    delete older.excerpt;
    expect(parseCitations([older as never]).map(citationItem)[0]).not.toHaveProperty('excerpt');
  });
});

describe('greetings', () => {
  it('lists the first message and the alternates, with the names filled in', () => {
    const choices = greetingChoices({
      name: 'Lena Park',
      nickname: 'Lena',
      first_mes: 'Hi {{user}}, I am {{char}}.',
      alternate_greetings: ['', '{{Char}} waves.'],
    });
    expect(choices).toEqual([
      { index: 0, label: 'First message', text: 'Hi User, I am Lena.' },
      { index: 2, label: 'Alternate greeting 2', text: 'Lena waves.' },
    ]);
    expect(greetingChoices({ name: 'A', nickname: null, first_mes: ' ', alternate_greetings: [] })).toEqual([]);
    expect(fillNames('{{user}}!', 'A', 'Sam')).toBe('Sam!');
  });
});

describe('agents and ids', () => {
  it('finds an agent by id, else by name', () => {
    const card = (id: string, name: string) => ({ id, name }) as AgentCard;
    const agents = [card('a1', 'Lena'), card('lena', 'Other')];
    expect(findAgent(agents, 'lena')?.id).toBe('lena');
    expect(findAgent(agents, 'LENA')?.id).toBe('a1');
    expect(findAgent(agents, 'nobody')).toBeUndefined();
  });

  it('makes distinct request ids', () => {
    const a = newRequestId();
    expect(a).toMatch(/^[0-9a-f-]{32,36}$/);
    expect(newRequestId()).not.toBe(a);
  });

  it('finds the last match', () => {
    expect(lastIndexWhere([1, 2, 3, 2], (n) => n === 2)).toBe(3);
    expect(lastIndexWhere([1], (n) => n === 2)).toBe(-1);
  });
});

describe('live turns', () => {
  it('says each stage, leaving out the ones never reached', () => {
    const stages = { speech_s: 1.2, stt_ms: 420, first_token_ms: 310, first_audio_ms: 1200, reply_ms: 2000, total_ms: 4500 };
    expect(stagesText(stages)).toBe('heard in 420 ms · first token 310 ms · first audio 1.2 s · turn 4.5 s');
    expect(stagesText({ ...stages, first_audio_ms: 0, first_token_ms: 0 })).toBe('heard in 420 ms · turn 4.5 s');
  });
});
