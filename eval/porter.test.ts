import { describe, expect, it } from 'vitest';
import { analyze } from './analyzer.js';
import { porterStem } from './porter.js';

// Words of the sample collection and the MS MARCO dev queries with the stems Snowball's `porter` algorithm
// gives (python3-snowballstemmer 2.2.0, computed once; every 90th word whose stem differs from it).
const SNOWBALL: [string, string][] = [
  ['abalone', 'abalon'], ['adolescent', 'adolesc'], ['amniocentesis', 'amniocentesi'], ['arbitrage', 'arbitrag'],
  ['authorities', 'author'], ['believed', 'believ'], ['borderline', 'borderlin'], ['cabinets', 'cabinet'],
  ['caustics', 'caustic'], ['chromosome', 'chromosom'], ['columbine', 'columbin'], ['congenital', 'congenit'],
  ['corrective', 'correct'], ['cuts', 'cut'], ['democracy', 'democraci'], ['different', 'differ'], ['dodge',
  'dodg'], ['efficiency', 'effici'], ['environmental', 'environment'], ['experience', 'experi'], ['festivals',
  'festiv'], ['franchise', 'franchis'], ['gis', 'gi'], ['haile', 'hail'], ['hitches', 'hitch'], ['identifying',
  'identifi'], ['infinity', 'infin'], ['invites', 'invit'], ['key', 'kei'], ['lemoore', 'lemoor'], ['luling',
  'lule'], ['meals', 'meal'], ['minimis', 'minimi'], ['multivitamins', 'multivitamin'], ['normally', 'normal'],
  ['ophthalmic', 'ophthalm'], ['palms', 'palm'], ['peroxide', 'peroxid'], ['poes', 'poe'], ['presentation',
  'present'], ['proteins', 'protein'], ['rangers', 'ranger'], ['relaxation', 'relax'], ['retaliatory',
  'retaliatori'], ['sabbatical', 'sabbat'], ['selected', 'select'], ['signs', 'sign'], ['spectrometry',
  'spectrometri'], ['stools', 'stool'], ['survey', 'survei'], ['tendonitis', 'tendon'], ['tourists', 'tourist'],
  ['tundras', 'tundra'], ['utilize', 'util'], ['volcanic', 'volcan'], ['winds', 'wind'],
];

// The paper's examples (Snowball agrees), then Lucene's departures from the paper (Snowball differs).
const PAPER: [string, string][] = [
  ['caresses', 'caress'], ['ponies', 'poni'], ['feed', 'feed'], ['agreed', 'agre'], ['plastered', 'plaster'],
  ['motoring', 'motor'], ['sing', 'sing'], ['hopping', 'hop'], ['falling', 'fall'], ['hissing', 'hiss'],
  ['fizzed', 'fizz'], ['filing', 'file'], ['happy', 'happi'], ['sky', 'sky'], ['relational', 'relat'],
  ['conditional', 'condit'], ['rational', 'ration'], ['triplicate', 'triplic'], ['formative', 'form'],
  ['adoption', 'adopt'], ['controll', 'control'], ['roll', 'roll'], ['generalization', 'gener'],
];
const LUCENE: [string, string][] = [
  ['possibly', 'possibl'], // -bli → -ble (paper: only -abli → -able; Snowball: possibli)
  ['humbly', 'humbl'],
  ['technology', 'technolog'], // -logi → -log (Snowball: technologi)
  ['is', 'is'], // one or two letters: unchanged (Snowball: i)
  ['as', 'as'],
];

describe('porterStem', () => {
  it.each([...SNOWBALL, ...PAPER, ...LUCENE])('%s → %s', (word, stem) => {
    expect(porterStem(word)).toBe(stem);
  });
  it('leaves non-ASCII and digit tokens alone', () => {
    expect(porterStem('ünïcode')).toBe('ünïcode');
    expect(porterStem('42x')).toBe('42x');
  });
  it('is applied by the analyzer when stemming is on', () => {
    expect(analyze('The running dogs', { stem: true })).toEqual(['run', 'dog']);
    expect(analyze('The running dogs', { stem: false })).toEqual(['running', 'dogs']);
  });
});
