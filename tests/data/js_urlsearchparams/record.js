// Records cases.json: node tests/data/js_urlsearchparams/record.js > tests/data/js_urlsearchparams/cases.json
const cases = [
 "new URLSearchParams('?a=1&b=2&a=3').getAll('a')",
 "new URLSearchParams('a=1&b=2&a=3').get('a')",
 "new URLSearchParams('a=1').get('zz')",
 "new URLSearchParams('x=%20%2B+y&%E2%82%AC=%ZZ&&=v&k').toString()",
 "Array.from(new URLSearchParams('x=%20%2B+y&%E2%82%AC=%ZZ&&=v&k'))",
 "Array.from(new URLSearchParams('x=%E2%82&y=%C3%A9%'))",
 "new URLSearchParams({a: 1, b: 'two words', c: '\u20ac/?&='}).toString()",
 "new URLSearchParams([['a', 'x'], ['a', 'y']]).toString()",
 "(() => { const p = new URLSearchParams('c=3&a=1&b=2&a=0'); p.sort(); return p.toString(); })()",
 "(() => { const p = new URLSearchParams('a=1&b=2&a=3'); p.set('a', 'z'); return p.toString(); })()",
 "(() => { const p = new URLSearchParams('a=1&b=2&a=3'); p.delete('a'); p.append('c', '*-._~!'); return [p.toString(), p.has('b'), p.has('a'), p.size]; })()",
 "(() => { const p = new URLSearchParams('a=1&b=2&a=3'); p.delete('a', '3'); return [p.toString(), p.has('a', '1'), p.has('a', '3')]; })()",
 "(() => { const out = []; new URLSearchParams('a=1&b=2').forEach((v, k) => out.push(k + ':' + v)); return [out, Array.from(new URLSearchParams('a=1&b=2').keys()), Array.from(new URLSearchParams('a=1&b=2').values())]; })()",
 "Object.prototype.toString.call(new URLSearchParams(''))",
 "String(new URLSearchParams('a=\ud800'))",
 "new URLSearchParams('a=b=c').get('a')",
 "(() => { const p = new URLSearchParams('a=' + '%C3%A9'.repeat(3000) + '+x&b=' + 'y'.repeat(5000)); return [p.get('a').length, p.get('a').slice(0, 2), p.get('b').length, p.toString().length]; })()",
];
console.log(JSON.stringify(cases.map((c) => { try { return [c, eval(c)]; } catch (e) { return [c, 'ERR ' + e.name]; } })));
