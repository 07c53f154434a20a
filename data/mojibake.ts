/**
 * MS MARCO's text was stored as UTF-8 that had been decoded as Latin-1 somewhere upstream, so `don’t`
 * appears as `donâ\u0080\u0099t` (each UTF-8 byte became one U+0080-U+00FF character). The published
 * models saw this text, so readers keep it by default; `repairMojibake` is the opt-in fix.
 *
 * Only runs that form one complete, valid UTF-8 sequence when read back as bytes are replaced, so real
 * Latin-1 text (`café`, `½`) is left alone.
 */
const CANDIDATE = /[\u00c2-\u00df][\u0080-\u00bf]|[\u00e0-\u00ef][\u0080-\u00bf]{2}|[\u00f0-\u00f4][\u0080-\u00bf]{3}/g;
const SUSPECT = /[\u00c2-\u00f4][\u0080-\u00bf]/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

export function repairMojibake(text: string): string {
  if (!SUSPECT.test(text)) return text;
  return text.replace(CANDIDATE, (run) => {
    try {
      return utf8.decode(Buffer.from(run, 'latin1'));
    } catch {
      return run;
    }
  });
}
