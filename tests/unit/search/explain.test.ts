// Tests src/search/explain.ts's text handling: passages as sentence spans (windows for long ones),
// query words and the query without one of them. (Scores: tests/acceptance/explain.test.ts.)
import { describe, expect, it } from 'vitest';
import { passageSpans, queryWords, withoutSpan, withoutWord } from '../../../src/search/explain.ts';

describe('passageSpans', () => {
  it('cuts sentences at . ! ? before whitespace and at line breaks, trimmed, keeping 1.5 whole', () => {
    const text = '  Flow at Mach 1.5 was measured.  Was it steady? yes!\nA second line . last part';
    const spans = passageSpans(text).map((s) => text.slice(s.start, s.end));
    expect(spans).toEqual(['Flow at Mach 1.5 was measured.', 'Was it steady?', 'yes!', 'A second line .', 'last part']);
  });

  it('cuts a sentence of more than 48 words into windows of 32 words', () => {
    const words = Array.from({ length: 70 }, (_, i) => `w${i}`);
    const text = `${words.join(' ')}. Short one.`;
    const spans = passageSpans(text).map((s) => text.slice(s.start, s.end));
    expect(spans).toEqual([words.slice(0, 32).join(' '), words.slice(32, 64).join(' '), `${words.slice(64).join(' ')}.`, 'Short one.']);
  });

  it('has no passage for text without letters or digits', () => {
    expect(passageSpans(' . ! \n ')).toEqual([]);
  });
});

describe('query words', () => {
  it('are distinct and lower-cased; a word is taken out wherever it occurs', () => {
    expect(queryWords('Flow over a flat plate, flow!')).toEqual(['flow', 'over', 'a', 'flat', 'plate']);
    expect(withoutWord('Flow over a flat plate, flow!', 'flow')).toBe('over a flat plate, !');
    expect(withoutWord('plate', 'plate')).toBe('');
    expect(withoutSpan('one. two. three.', { start: 5, end: 9 })).toBe('one. three.');
  });
});
