import { Network, text } from './harness.js';
const net = new Network(['1', '2', '3']);
net.elect('1');
for (let i = 0; i < 20; i++) { net.get('1').propose(text(`p${i}`)); net.settle(); }
console.log('before', net.get('1').status().progress.map((p) => `${p.id}:${p.match}/${p.next}/${p.state}`));
const t = net.testNode('3');
for (const k of [...t.persisted.keys()]) if (k > 10) t.persisted.delete(k);
t.hard = { ...t.hard, commit: 10 };
t.applied = t.applied.filter((e) => e.index <= 10);
net.restart('3', { voters: ['1', '2', '3'], learners: [] });
const before = net.delivered.length;
try { net.tickAll(3); console.log('settled'); } catch (err) { console.log('error:', (err as Error).message); }
const sent = net.delivered.slice(before);
console.log('messages after restart:', sent.length);
for (const d of sent.slice(0, 12)) console.log(d.type, d.from, '->', d.to, 'i', d.index, 'lt', d.logTerm, 'c', d.commit, 'rej', d.reject, 'hint', d.rejectHint, d.entries.length);
console.log('after', net.get('1').status().progress.map((p) => `${p.id}:${p.match}/${p.next}/${p.state}`), '3 last', net.get('3').status().lastIndex);
const b2 = net.delivered.length;
net.get('1').propose(text('new'));
try { net.settle(); net.tickAll(3); console.log('settled 2'); } catch (err) { console.log('error 2:', (err as Error).message); }
const sent2 = net.delivered.slice(b2);
console.log('messages after propose:', sent2.length);
for (const d of sent2.slice(0, 16)) console.log(d.type, d.from, '->', d.to, 'i', d.index, 'lt', d.logTerm, 'c', d.commit, 'rej', d.reject, 'hint', d.rejectHint, d.entries.length);
console.log('after2', net.get('1').status().progress.map((p) => `${p.id}:${p.match}/${p.next}/${p.state}`), '3 last', net.get('3').status().lastIndex, '3 commit', net.get('3').status().commit);
