/**
 * The words of the quickstart dataset. Every word is a whole token in bert-base-uncased's vocab (tested),
 * so the student sees one id per word. A concept is a set of synonyms: a query names a concept with one of
 * them and a relevant passage often with another, which is what BM25 cannot match and a trained encoder can.
 */
export const CONCEPTS: readonly (readonly string[])[] = [
  ['car', 'automobile', 'vehicle', 'auto'],
  ['house', 'home', 'residence', 'dwelling'],
  ['doctor', 'physician', 'surgeon'],
  ['money', 'cash', 'currency', 'funds'],
  ['price', 'cost', 'fee', 'charge'],
  ['fix', 'repair', 'restore'],
  ['buy', 'purchase', 'acquire', 'obtain'],
  ['big', 'large', 'huge', 'enormous'],
  ['small', 'little', 'tiny', 'minor'],
  ['fast', 'quick', 'rapid', 'swift'],
  ['begin', 'start', 'commence', 'initiate'],
  ['end', 'finish', 'conclude', 'complete'],
  ['help', 'assist', 'aid', 'support'],
  ['job', 'work', 'occupation', 'employment'],
  ['child', 'kid', 'infant', 'baby'],
  ['sick', 'ill', 'infected'],
  ['medicine', 'drug', 'medication', 'remedy'],
  ['pain', 'ache', 'hurt', 'agony'],
  ['food', 'meal', 'cuisine', 'dish'],
  ['drink', 'beverage', 'liquor', 'juice'],
  ['river', 'stream', 'creek', 'brook'],
  ['mountain', 'peak', 'summit', 'hill'],
  ['ocean', 'sea', 'marine', 'maritime'],
  ['forest', 'woods', 'woodland', 'jungle'],
  ['storm', 'hurricane', 'tornado', 'cyclone'],
  ['rain', 'shower', 'rainfall'],
  ['city', 'town', 'village', 'municipality'],
  ['road', 'street', 'highway', 'avenue'],
  ['ship', 'boat', 'vessel', 'yacht'],
  ['plane', 'aircraft', 'airplane', 'jet'],
  ['law', 'statute', 'legislation', 'regulation'],
  ['court', 'tribunal', 'judge', 'jury'],
  ['student', 'pupil', 'scholar', 'trainee'],
  ['teacher', 'instructor', 'tutor', 'professor'],
  ['school', 'academy', 'college', 'university'],
  ['book', 'novel', 'volume', 'textbook'],
  ['song', 'tune', 'melody', 'anthem'],
  ['film', 'movie', 'cinema', 'documentary'],
  ['picture', 'photo', 'image', 'photograph'],
  ['computer', 'laptop', 'pc', 'desktop'],
  ['phone', 'telephone', 'mobile'],
  ['dog', 'puppy', 'hound', 'canine'],
  ['cat', 'kitten', 'kitty'],
  ['horse', 'pony', 'stallion', 'mare'],
  ['bird', 'sparrow', 'pigeon', 'eagle'],
  ['fish', 'salmon', 'trout', 'tuna'],
  ['tree', 'oak', 'pine', 'maple'],
  ['flower', 'rose', 'lily', 'blossom'],
  ['garden', 'yard', 'lawn', 'backyard'],
  ['sleep', 'rest', 'nap'],
  ['angry', 'furious', 'mad', 'annoyed'],
  ['happy', 'glad', 'cheerful', 'delighted'],
  ['sad', 'unhappy', 'depressed', 'sorrow'],
  ['rich', 'wealthy', 'affluent', 'prosperous'],
  ['poor', 'needy', 'impoverished', 'broke'],
  ['war', 'battle', 'combat', 'conflict'],
  ['soldier', 'troops', 'army', 'infantry'],
  ['king', 'monarch', 'ruler', 'emperor'],
  ['church', 'chapel', 'cathedral', 'temple'],
];

/** Topic-neutral words that pad queries and passages; they match across topics and so mislead BM25 a little. */
export const NEUTRAL: readonly string[] = (
  'often usually many people time important used also known several general common various typical local ' +
  'new old good best most some every other first different part example information about found given called ' +
  'made make need know find way year day place world area number group system case fact point type form level ' +
  'kind result process history nature study research report guide question answer'
).split(' ');

/** Query shapes: `A` and `B` are the topic's two concepts, `n` a neutral word. */
export const QUERY_TEMPLATES: readonly string[] = [
  'what is the A B',
  'how to A B',
  'A B n',
  'n of A and B',
  'why does A need B',
  'A for B',
  'best A B n',
  'where is A with B',
];

/** Passage sentences: `X` and `Y` name concepts (topic or aside), `n` a neutral word. */
export const SENTENCE_TEMPLATES: readonly string[] = [
  'the X is n n for the Y',
  'a X can be n when the Y is n',
  'many people use the X and the Y',
  'this n of X is about Y',
  'the Y and the X are n',
  'for a X the Y is often n',
  'X and Y n n in the n',
  'in the n the X with Y is n',
];

/** Function words the templates use. */
export const FUNCTION_WORDS: readonly string[] = (
  'what is the how to of and why does need for best where with a can be when many people use are this about ' +
  'often in'
).split(' ');
