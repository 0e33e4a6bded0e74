// send.mjs sends the same short customer journey to smsflow through each
// official Node library, unchanged and configured only with its documented
// options, so that cmd/smsflow/clients_test.go can check what was stored.
//
//   node send.mjs URL WRITE_KEY [--segment-user ID] [--rudder-user ID]
//                 [--segment-phone P] [--rudder-phone P] [--revenue N]
//
// URL and WRITE_KEY may instead come from SMSFLOW_URL and SMSFLOW_WRITE_KEY.
// For each library and its user U the journey is:
//   page     anonymousId "U-visitor", name "Pricing"   (before sign-up)
//   identify userId U, traits.phone in a local format, first_name
//   track    "Order Completed", properties order_id "U-order-1", revenue N
//            (a JSON number), currency "USD"
//   alias    previousId "U-visitor" → userId U (folds the visit into U)
// It exits 1 when a library reports an error for any call or its flush, 2
// on bad arguments, 3 when the libraries do not finish within 60 s.
import { parseArgs } from 'node:util'
import { Analytics as SegmentAnalytics } from '@segment/analytics-node'
import RudderAnalytics from '@rudderstack/rudder-sdk-node'

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    'segment-user': { type: 'string', default: 'seg-user' },
    'rudder-user': { type: 'string', default: 'rud-user' },
    'segment-phone': { type: 'string', default: '(415) 555-0123' },
    'rudder-phone': { type: 'string', default: '(415) 555-0124' },
    revenue: { type: 'string', default: '129.95' },
  },
})
const baseURL = positionals[0] ?? process.env.SMSFLOW_URL
const writeKey = positionals[1] ?? process.env.SMSFLOW_WRITE_KEY
const revenue = Number(values.revenue)
if (!baseURL || !writeKey || !Number.isFinite(revenue)) {
  console.error('usage: node send.mjs URL WRITE_KEY [--segment-user ID] [--rudder-user ID] [--segment-phone P] [--rudder-phone P] [--revenue N]')
  process.exit(2)
}

// A library that hangs (say, retrying forever) must not hang the test.
setTimeout(() => {
  console.error('send.mjs: the libraries did not finish within 60 s')
  process.exit(3)
}, 60_000).unref()

const errors = []
// report returns a per-call callback that records the library's error.
const report = (lib, call) => (err) => {
  if (err) errors.push(`${lib} ${call}: ${err?.message ?? err}`)
}

// journey makes the four calls on a client whose methods take
// (message, callback), as both libraries' do.
function journey(lib, client, userId, phone) {
  const visitor = `${userId}-visitor`
  client.page({ anonymousId: visitor, name: 'Pricing', properties: { path: '/pricing', url: 'https://shop.example/pricing' } }, report(lib, 'page'))
  client.identify({ userId, traits: { phone, first_name: lib } }, report(lib, 'identify'))
  client.track({ userId, event: 'Order Completed', properties: { order_id: `${userId}-order-1`, revenue, currency: 'USD' } }, report(lib, 'track'))
  client.alias({ previousId: visitor, userId }, report(lib, 'alias'))
}

async function viaSegment() {
  const analytics = new SegmentAnalytics({ writeKey, host: baseURL, maxRetries: 2 })
  analytics.on('error', (e) => errors.push(`segment ${e.code}: ${e.reason?.message ?? e.reason}`))
  analytics.on('http_response', (r) => console.log(`segment: POST ${r.url} → ${r.status}`))
  journey('segment', analytics, values['segment-user'], values['segment-phone'])
  await analytics.closeAndFlush({ timeout: 30_000 })
}

async function viaRudder() {
  const client = new RudderAnalytics(writeKey, {
    dataPlaneUrl: baseURL,
    retryCount: 2,
    logLevel: 'error',
    errorHandler: (err) => errors.push(`rudderstack request: ${err?.response ? `${err.response.status} ${JSON.stringify(err.response.data)}` : err?.message ?? err}`),
  })
  journey('rudderstack', client, values['rudder-user'], values['rudder-phone'])
  await client.flush()
  // The library calls the per-call callbacks in a setImmediate after the
  // flush settles; wait for them so their errors are reported too.
  await new Promise((resolve) => setImmediate(resolve))
  console.log(`rudderstack: flush to ${baseURL}/v1/batch finished`)
}

try {
  await viaSegment()
  await viaRudder()
} catch (err) {
  errors.push(`unexpected: ${err?.stack ?? err}`)
}
if (errors.length > 0) {
  for (const e of errors) console.error(`send.mjs: ${e}`)
  process.exit(1)
}
console.log('send.mjs: both libraries delivered every call')
