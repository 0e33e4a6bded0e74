// A small SMSC for the provider/smpp tests, built on the npm package `smpp`
// (farhadi/node-smpp), so the Go adapter is tested against a peer that is not
// our own code.
//
// Usage: node server.js [--port N] [--system-id ID] [--password PW]
//                       [--throttle 15550000001,15550000002@2]
//                       [--invalid 15550000003] [--silent 15550000005]
//                       [--stat 15550000004=UNDELIV:012,...]
//                       [--no-receipts] [--redeliver N]
//
// It listens on 127.0.0.1 (port 0: any free port) and prints one JSON object per
// line on stdout: first {"event":"listening","port":N}, then one line per
// thing that happened (bind, submit_sm, enquire_link, deliver_sm_resp, ...).
// Commands arrive as JSON lines on stdin:
//   {"cmd":"mo","from":"15550001111","to":"12345","text":"hi","data_coding":0,"udh":"050003..."}
//   {"cmd":"deliver","esm_class":4,"text":"id:...","receipted_message_id":"..."}
//                            ("hex" instead of "text" gives raw short_message bytes)
//   {"cmd":"enquire_link"}   the server asks the client; the answer is logged
//   {"cmd":"raw","hex":"..."} write these bytes (whole PDUs) to every client as they are
//   {"cmd":"drop"}           destroy every client connection
// The server exits when stdin is closed.
//
// submit_sm is answered with a hex message_id; when registered_delivery asks
// for it, a delivery receipt follows whose id is the same number in DECIMAL
// (as SMPP 3.3-style SMSCs do). Numbers in --throttle get ESME_RTHROTTLED
// (NUMBER@K: from the K-th submit_sm to it on),
// in --invalid ESME_RINVDSTADR; submit_sm to numbers in --silent is never
// answered. A deliver_sm answered with an error is sent
// again, up to --redeliver times (default 3).
'use strict';

const smpp = require('smpp');
const readline = require('readline');

function parseArgs(argv) {
	const o = {port: 0, systemId: 'smsflow', password: 'secret', throttle: new Map(), invalid: new Set(),
		silent: new Set(),
		stat: new Map(), receipts: true, redeliver: 3};
	for (let i = 0; i < argv.length; i++) {
		const a = argv[i];
		const next = () => argv[++i];
		switch (a) {
		case '--port': o.port = parseInt(next(), 10); break;
		case '--system-id': o.systemId = next(); break;
		case '--password': o.password = next(); break;
		case '--throttle': // NUMBER, or NUMBER@K: from its K-th submit_sm on
			next().split(',').filter(Boolean).forEach(n => {
				const [num, k] = n.split('@');
				o.throttle.set(num, k ? parseInt(k, 10) : 1);
			});
			break;
		case '--invalid': next().split(',').filter(Boolean).forEach(n => o.invalid.add(n)); break;
		case '--silent': next().split(',').filter(Boolean).forEach(n => o.silent.add(n)); break;
		case '--stat':
			next().split(',').filter(Boolean).forEach(kv => {
				const [num, st] = kv.split('=');
				const [stat, err] = st.split(':');
				o.stat.set(num, {stat, err: err || '000'});
			});
			break;
		case '--no-receipts': o.receipts = false; break;
		case '--redeliver': o.redeliver = parseInt(next(), 10); break;
		default:
			process.stderr.write('unknown argument ' + a + '\n');
			process.exit(2);
		}
	}
	return o;
}

const opts = parseArgs(process.argv.slice(2));

function out(obj) {
	process.stdout.write(JSON.stringify(obj) + '\n');
}

function smppDate(d) {
	const p = n => ('0' + n).slice(-2);
	return p(d.getUTCFullYear() % 100) + p(d.getUTCMonth() + 1) + p(d.getUTCDate()) + p(d.getUTCHours()) + p(d.getUTCMinutes());
}

// The raw bytes of a decoded short_message, re-encoded with the package's own
// codec for that data_coding (node-smpp hands us text, not bytes).
function messageBytes(pdu) {
	const sm = pdu.short_message || {};
	const msg = sm.message;
	if (Buffer.isBuffer(msg)) {
		return msg;
	}
	if (typeof msg !== 'string') {
		return Buffer.alloc(0);
	}
	switch (pdu.data_coding & 0x0F) {
	case 0x08: return smpp.encodings.UCS2.encode(msg);
	case 0x03: return smpp.encodings.LATIN1.encode(msg);
	default: return smpp.encodings.ASCII.encode(msg);
	}
}

const sessions = new Set();
const submitted = new Map(); // destination -> submit_sm count
let nextID = 0x2A000000;

// sendDeliver sends a deliver_sm, logs the ESME's answer, and sends it again
// (same content, new sequence number) when the answer is an error.
function sendDeliver(session, fields, kind, attempt) {
	attempt = attempt || 1;
	const pdu = new smpp.PDU('deliver_sm', Object.assign({}, fields));
	session.send(pdu, resp => {
		out({event: 'deliver_sm_resp', kind, attempt, source_addr: fields.source_addr, command_status: resp.command_status});
		if (resp.command_status !== 0 && attempt <= opts.redeliver) {
			setTimeout(() => sendDeliver(session, fields, kind, attempt + 1), 50);
		}
	});
}

const server = smpp.createServer(session => {
	sessions.add(session);
	let bound = false;
	session.on('close', () => { sessions.delete(session); out({event: 'close'}); });
	session.on('error', e => out({event: 'session_error', error: String(e && e.message || e)}));

	session.on('bind_transceiver', pdu => {
		const ok = pdu.system_id === opts.systemId && pdu.password === opts.password;
		out({event: 'bind', system_id: pdu.system_id, ok});
		if (!ok) {
			session.send(pdu.response({command_status: smpp.ESME_RBINDFAIL}));
			session.close();
			return;
		}
		bound = true;
		session.send(pdu.response({system_id: 'nodesmsc'}));
	});

	session.on('generic_nack', pdu => {
		out({event: 'generic_nack', sequence_number: pdu.sequence_number, command_status: pdu.command_status});
	});

	session.on('enquire_link', pdu => {
		out({event: 'enquire_link'});
		session.send(pdu.response());
	});

	session.on('unbind', pdu => {
		out({event: 'unbind'});
		session.send(pdu.response());
		session.close();
	});

	session.on('submit_sm', pdu => {
		if (!bound) {
			session.send(pdu.response({command_status: smpp.ESME_RINVBNDSTS}));
			return;
		}
		const sm = pdu.short_message || {};
		const udh = (sm.udh || []).map(b => Buffer.from(b).toString('hex'));
		const bytes = messageBytes(pdu);
		const rec = {
			event: 'submit_sm',
			sequence_number: pdu.sequence_number,
			source_addr: pdu.source_addr,
			source_addr_ton: pdu.source_addr_ton,
			source_addr_npi: pdu.source_addr_npi,
			destination_addr: pdu.destination_addr,
			dest_addr_ton: pdu.dest_addr_ton,
			dest_addr_npi: pdu.dest_addr_npi,
			esm_class: pdu.esm_class,
			data_coding: pdu.data_coding,
			registered_delivery: pdu.registered_delivery,
			udh,
			text: typeof sm.message === 'string' ? sm.message : null,
			message_hex: bytes.toString('hex'),
		};
		if (opts.silent.has(pdu.destination_addr)) {
			rec.command_status = null;
			out(rec);
			return;
		}
		let status = 0;
		const seen = (submitted.get(pdu.destination_addr) || 0) + 1;
		submitted.set(pdu.destination_addr, seen);
		if (opts.throttle.has(pdu.destination_addr) && seen >= opts.throttle.get(pdu.destination_addr)) {
			status = smpp.ESME_RTHROTTLED;
		} else if (opts.invalid.has(pdu.destination_addr)) {
			status = smpp.ESME_RINVDSTADR;
		}
		rec.command_status = status;
		if (status !== 0) {
			out(rec);
			session.send(pdu.response({command_status: status}));
			return;
		}
		const n = nextID++;
		rec.message_id = n.toString(16).toUpperCase();
		rec.receipt_id = n.toString(10);
		out(rec);
		session.send(pdu.response({message_id: rec.message_id}), () => {
			if (!opts.receipts || !(pdu.registered_delivery & 0x01)) {
				return;
			}
			const st = opts.stat.get(pdu.destination_addr) || {stat: 'DELIVRD', err: '000'};
			const now = smppDate(new Date());
			const text = 'id:' + rec.receipt_id + ' sub:001 dlvrd:' + (st.stat === 'DELIVRD' ? '001' : '000') +
				' submit date:' + now + ' done date:' + now + ' stat:' + st.stat + ' err:' + st.err +
				' text:' + (rec.text || '').slice(0, 20);
			sendDeliver(session, {
				source_addr: pdu.destination_addr,
				source_addr_ton: pdu.dest_addr_ton,
				source_addr_npi: pdu.dest_addr_npi,
				destination_addr: pdu.source_addr,
				dest_addr_ton: pdu.source_addr_ton,
				dest_addr_npi: pdu.source_addr_npi,
				esm_class: 0x04,
				data_coding: 0x01,
				short_message: Buffer.from(text, 'ascii'),
			}, 'receipt');
		});
	});
});

function command(line) {
	let c;
	try {
		c = JSON.parse(line);
	} catch (e) {
		out({event: 'command_error', error: 'not JSON: ' + line});
		return;
	}
	const targets = Array.from(sessions);
	switch (c.cmd) {
	case 'mo':
		targets.forEach(s => {
			const message = {message: c.text};
			if (c.udh) {
				message.udh = Buffer.from(c.udh, 'hex');
			}
			sendDeliver(s, {
				source_addr: c.from,
				source_addr_ton: c.from_ton === undefined ? 1 : c.from_ton,
				source_addr_npi: 1,
				destination_addr: c.to,
				esm_class: 0,
				data_coding: c.data_coding === undefined ? 0 : c.data_coding,
				short_message: c.udh ? message : c.text,
			}, 'mo');
		});
		break;
	case 'deliver':
		targets.forEach(s => {
			const f = {
				source_addr: c.from || '15550000000',
				destination_addr: c.to || '12345',
				esm_class: c.esm_class || 0,
				data_coding: 0x01,
				short_message: c.hex !== undefined ? Buffer.from(c.hex, 'hex') : Buffer.from(c.text || '', 'ascii'),
			};
			if (c.receipted_message_id) {
				f.receipted_message_id = c.receipted_message_id;
			}
			if (c.message_state !== undefined) {
				f.message_state = c.message_state;
			}
			sendDeliver(s, f, c.kind || 'deliver');
		});
		break;
	case 'enquire_link':
		targets.forEach(s => s.enquire_link({}, resp => out({event: 'enquire_link_resp', command_status: resp.command_status})));
		break;
	case 'drop':
		targets.forEach(s => s.destroy());
		break;
	case 'raw':
		targets.forEach(s => s.socket.write(Buffer.from(c.hex, 'hex')));
		break;
	default:
		out({event: 'command_error', error: 'unknown command ' + c.cmd});
		return;
	}
	out({event: 'command_done', cmd: c.cmd, sessions: targets.length});
}

server.on('error', e => {
	out({event: 'server_error', error: String(e && e.message || e)});
	process.exit(1);
});

server.listen(opts.port, '127.0.0.1', () => {
	out({event: 'listening', port: server.address().port});
	const rl = readline.createInterface({input: process.stdin});
	rl.on('line', command);
	// The test holds stdin open; when it goes away, so does the server.
	rl.on('close', () => process.exit(0));
});
