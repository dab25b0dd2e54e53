import { simplifyText, simplifyTextByRules, splitIntoWordsByRules, treebankTokenize } from './text';
import { splitIntoWords } from './word-split';

// Expected values are NLTK's own doctests (nltk/tokenize/destructive.py, nltk/test/tokenize.doctest).
describe('NLTK word tokenization', () => {
  it('NLTKWordTokenizer.tokenize (one "sentence": only the final period splits)', () => {
    const s = 'Good muffins cost $3.88 (roughly 3,36 euros)\nin New York.  Please buy me\ntwo of them.\nThanks.';
    expect(treebankTokenize(s)).toEqual([
      'Good', 'muffins', 'cost', '$', '3.88', '(', 'roughly', '3,36', 'euros', ')', 'in', 'New', 'York.', 'Please', 'buy', 'me', 'two',
      'of', 'them.', 'Thanks', '.',
    ]);
  });

  it.each([
    ['On a $50,000 mortgage of 30 years at 8 percent, the monthly payment would be $366.88.',
      ['On', 'a', '$', '50,000', 'mortgage', 'of', '30', 'years', 'at', '8', 'percent', ',', 'the', 'monthly', 'payment', 'would', 'be', '$', '366.88', '.']],
    ['"We beat some pretty good teams to get here," Slocum said.',
      ['``', 'We', 'beat', 'some', 'pretty', 'good', 'teams', 'to', 'get', 'here', ',', "''", 'Slocum', 'said', '.']],
    ["Well, we couldn't have this predictable, cliche-ridden, \"Touched by an Angel\" (a show creator John Masius worked on) wanna-be if she didn't.",
      ['Well', ',', 'we', 'could', "n't", 'have', 'this', 'predictable', ',', 'cliche-ridden', ',', '``', 'Touched', 'by', 'an', 'Angel', "''", '(', 'a', 'show',
        'creator', 'John', 'Masius', 'worked', 'on', ')', 'wanna-be', 'if', 'she', 'did', "n't", '.']],
    ['I cannot cannot work under these conditions!', ['I', 'can', 'not', 'can', 'not', 'work', 'under', 'these', 'conditions', '!']],
    ['The company spent 40.75% of its income last year.', ['The', 'company', 'spent', '40.75', '%', 'of', 'its', 'income', 'last', 'year', '.']],
    ['He arrived at 3:00 pm.', ['He', 'arrived', 'at', '3:00', 'pm', '.']],
    ['I bought these items: books, pencils, and pens.', ['I', 'bought', 'these', 'items', ':', 'books', ',', 'pencils', ',', 'and', 'pens', '.']],
    ["There were 300,000, but that wasn't enough.", ['There', 'were', '300,000', ',', 'but', 'that', 'was', "n't", 'enough', '.']],
    ["It's more'n enough.", ['It', "'s", 'more', "'n", 'enough', '.']],
    ['\xabNow that I can do.\xbb', ['\xab', 'Now', 'that', 'I', 'can', 'do', '.', '\xbb']],
    ['The unicode 201C and 201D \u201cLEFT(RIGHT) DOUBLE QUOTATION MARK\u201d is also OPEN_PUNCT and CLOSE_PUNCT.',
      ['The', 'unicode', '201C', 'and', '201D', '\u201c', 'LEFT', '(', 'RIGHT', ')', 'DOUBLE', 'QUOTATION', 'MARK', '\u201d', 'is', 'also', 'OPEN_PUNCT', 'and', 'CLOSE_PUNCT', '.']],
  ])('word_tokenize(%j)', (s, expected) => {
    expect(splitIntoWords(s)).toEqual(expected);
    expect(splitIntoWordsByRules(s)).toEqual(expected);
  });

  it('splits sentences before tokenizing (word_tokenize of the muffins text)', () => {
    const s = 'Good muffins cost $3.88\nin New York.  Please buy me\ntwo of them.\n\nThanks.';
    const expected = ['Good', 'muffins', 'cost', '$', '3.88', 'in', 'New', 'York', '.', 'Please', 'buy', 'me', 'two', 'of', 'them', '.', 'Thanks', '.'];
    expect(splitIntoWords(s)).toEqual(expected);
    expect(splitIntoWordsByRules(s)).toEqual(expected);
  });
});

describe('simplify_text', () => {
  it('lowercases, turns numbers into 0, punctuation into spaces, collapses spaces, drops diacritics', () => {
    expect(simplifyText('  Héllo, WORLD!\n\n3.14 and 1,000 —  ok… ')).toBe('hello world 0 and 0 ok');
    expect(simplifyTextByRules('  Héllo, WORLD!\n\n3.14 and 1,000 —  ok… ')).toBe('hello world 0 and 0 ok');
  });

  it('ASCII text (the one-pass path): the same as the rules', () => {
    const s = ' \tHello, WORLD!\n\n3.14.15 and 1,000,5 -- "ok"... _x_ 12a3 [end]\x7f ';
    expect(simplifyText(s)).toBe('hello world 0 0 and 0 0 ok x 0a0 end');
    expect(simplifyTextByRules(s)).toBe('hello world 0 0 and 0 0 ok x 0a0 end');
  });
});
