// Reads a JSON array of vCard texts on stdin and parses each with ical.js,
// the vCard parser Thunderbird's address book uses (VCardUtils.sys.mjs
// calls ICAL.parse and reads the jCard). Writes a JSON array with, per
// card, either {"error": message} or the values of FN, NOTE, TITLE
// (strings) and ORG, N (arrays of components), as Thunderbird would
// show them.
import ICAL from "ical.js";

let input = "";
process.stdin.setEncoding("utf8");
for await (const chunk of process.stdin) {
  input += chunk;
}
const out = [];
for (const text of JSON.parse(input)) {
  try {
    const card = new ICAL.Component(ICAL.parse(text));
    const one = (name) => {
      const p = card.getFirstProperty(name);
      return p ? p.getFirstValue() : null;
    };
    const many = (name) => {
      const p = card.getFirstProperty(name);
      if (!p) {
        return null;
      }
      const v = p.getValues();
      return Array.isArray(v[0]) ? v[0] : v;
    };
    out.push({
      version: one("version"),
      fn: one("fn"),
      note: one("note"),
      title: one("title"),
      org: many("org"),
      n: many("n"),
    });
  } catch (e) {
    out.push({ error: String(e && e.message ? e.message : e) });
  }
}
process.stdout.write(JSON.stringify(out));
