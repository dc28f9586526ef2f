/**
 * live.js — a page's one websocket to branchq, keeping the branch state current.
 *
 *   import { connect } from '/static/common/live.js';
 *   const live = connect({
 *     role: 'display', branch: 'demo', token,     // token: a device token; staff pages omit it (cookie)
 *     onChange(state, change) { draw(state) },    // after every snapshot and every event
 *     onStatus(status, live) { banner(status) },  // 'connecting' | 'connected' | 'reconnecting' | 'refused'
 *   });
 *   live.state     // the snapshot's state ({branch, services, counters, calls, …}) kept current; null at first
 *   live.seq       // seq of the last event in live.state
 *   live.status    // as given to onStatus; live.connected === (status === 'connected')
 *   live.refused   // with status 'refused': the server's reason (bad token, unknown branch); it keeps retrying
 *   await live.command('counter/call_next', { counter: 3 })   // the result, or throws {code, message}
 *   live.resync()  // fetch a fresh snapshot now; events meanwhile are held and replayed after it
 *   live.close()
 *
 * Also exported: applyEvent(state, event), the reducer (pure apart from mutating `state`), and
 * backoff(), the reconnect delays as a generator.
 *
 * change is {kind: 'snapshot', resync, previous} (resync: a state was already shown, previous is
 * that state) or {kind: 'event', event} with event = {seq, kind, at, data}, already applied.
 *
 * What it does for you: hello as the first message; a snapshot on every (re)connect, so a page
 * comes back complete after any outage without reloading; events applied in seq order, and a
 * gap (or an event it cannot apply, e.g. a notice or a staff queue change) answered with a
 * fresh snapshot, events arriving meanwhile held back and replayed after it; a ping every
 * 15 s; reconnection with exponential backoff and jitter. A short blip does not alarm anyone:
 * status becomes 'reconnecting' only after 5 s without the server.
 */

export const PING_EVERY_MS = 15000;
export const ANSWER_WITHIN_MS = 5000;
export const RECONNECTING_AFTER_MS = 5000;
export const COMMAND_TIMEOUT_MS = 10000;
const RECENT_CALLS = 10; // as many as the server's snapshot holds
const POLICY_VIOLATION = 1008;

/**
 * Reconnect delays in ms: exponential from `base` up to `max`, each drawn at random from
 * its upper half ("equal jitter"), so a whole branch's screens do not return at one instant.
 */
export function* backoff({ base = 500, factor = 2, max = 5000, random = Math.random } = {}) {
  for (let attempt = 0; ; attempt += 1) {
    const ceiling = Math.min(max, base * factor ** attempt);
    yield Math.round(ceiling / 2 + (random() * ceiling) / 2);
  }
}

export function connect(options) {
  const live = new Live(options);
  live.open();
  return live;
}

class Live {
  constructor({ role, branch, token = null, onChange = () => {}, onStatus = () => {}, url = null }) {
    Object.assign(this, { role, branch, token, onChange, onStatus });
    this.url = url ?? `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
    this.state = null;
    this.seq = null;
    this.status = 'connecting';
    this.refused = null;
    this.welcome = null;
    this._ws = null;
    this._closed = false;
    this._delays = backoff();
    this._pending = new Map(); // command id → {resolve, reject, timer}
    this._nextId = 1;
    this._synced = false; // this socket has delivered a snapshot
    this._resyncing = false;
    this._held = []; // events that arrived while a snapshot was on its way
    this._lostTimer = null;
    this._retryTimer = null;
    this._pingTimer = null;
    window.addEventListener('online', () => this._retryNow());
  }

  get connected() {
    return this.status === 'connected';
  }

  open() {
    if (this._closed) return;
    clearTimeout(this._retryTimer);
    const ws = new WebSocket(this.url);
    this._ws = ws;
    this._synced = false;
    this._resyncing = false;
    this._held = [];
    this._nextId = 1;
    ws.onopen = () => {
      const hello = { type: 'hello', role: this.role, branch: this.branch };
      if (this.token) hello.token = this.token;
      ws.send(JSON.stringify(hello));
    };
    ws.onmessage = (message) => {
      if (ws === this._ws) this._receive(message.data);
    };
    ws.onclose = (close) => {
      if (ws === this._ws) this._lost(close);
    };
  }

  close() {
    this._closed = true;
    clearTimeout(this._retryTimer);
    clearTimeout(this._lostTimer);
    clearInterval(this._pingTimer);
    this._ws?.close(1000, 'page closed');
  }

  /** Send a command; resolves with its result, rejects with {code, message}. */
  command(type, args = {}, { timeoutMs = COMMAND_TIMEOUT_MS } = {}) {
    const ws = this._ws;
    if (!ws || ws.readyState !== WebSocket.OPEN || !this._synced) {
      return Promise.reject({ code: 'disconnected', message: 'not connected to the server' });
    }
    const id = this._nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this._pending.delete(id);
        reject({ code: 'timeout', message: `no answer to ${type} within ${timeoutMs} ms` });
      }, timeoutMs);
      this._pending.set(id, { resolve, reject, timer });
      ws.send(JSON.stringify({ ...args, id, type }));
    });
  }

  // --- receiving --------------------------------------------------------------------------

  _receive(raw) {
    let message;
    try {
      message = JSON.parse(raw);
    } catch {
      return;
    }
    switch (message.type) {
      case 'welcome':
        this.welcome = message;
        break;
      case 'snapshot':
        this._snapshot(message.seq, message.state);
        break;
      case 'event':
        this._event(message);
        break;
      case 'result':
        this._result(message);
        break;
      default:
        break;
    }
  }

  _snapshot(seq, state) {
    const previous = this.state;
    this.state = state;
    this.seq = seq;
    this._resyncing = false;
    const first = !this._synced;
    this._synced = true;
    if (first) this._connectedNow();
    this.onChange(state, { kind: 'snapshot', resync: previous !== null, previous });
    const held = this._held.filter((e) => e.seq > seq).sort((a, b) => a.seq - b.seq);
    this._held = [];
    for (const event of held) this._event(event);
  }

  _event(event) {
    if (this.state === null || this._resyncing) {
      this._held.push(event);
      return;
    }
    if (event.seq <= this.seq) return; // already in the state
    if (event.seq !== this.seq + 1) {
      this._held.push(event);
      this.resync();
      return;
    }
    this.seq = event.seq;
    const applied = applyEvent(this.state, event);
    this.onChange(this.state, { kind: 'event', event });
    if (!applied) this.resync();
  }

  _result(message) {
    const waiting = this._pending.get(message.id);
    if (!waiting) return;
    this._pending.delete(message.id);
    clearTimeout(waiting.timer);
    if (message.success) waiting.resolve(message.result);
    else waiting.reject(message.error ?? { code: 'error', message: 'command failed' });
  }

  /** Ask for a fresh snapshot (once at a time); events meanwhile are held and replayed after it. */
  resync() {
    if (this._resyncing || !this._synced) return;
    this._resyncing = true;
    const ws = this._ws;
    this.command('snapshot').then(
      (result) => {
        if (ws === this._ws) this._snapshot(result.seq, result.state);
      },
      () => {
        if (ws === this._ws) ws.close(4000, 'snapshot failed'); // start over with a new socket
      },
    );
  }

  // --- connection health ------------------------------------------------------------------

  _connectedNow() {
    clearTimeout(this._lostTimer);
    this._lostTimer = null;
    this._lostSince = null;
    this._delays = backoff();
    this.refused = null;
    this._setStatus('connected');
    clearInterval(this._pingTimer);
    this._pingTimer = setInterval(() => this._ping(), PING_EVERY_MS);
  }

  _ping() {
    const ws = this._ws;
    const sentAt = Date.now();
    this.command('ping', {}, { timeoutMs: ANSWER_WITHIN_MS }).catch(() => {
      // The server has said nothing for ANSWER_WITHIN_MS: treat the socket as dead.
      if (ws === this._ws) this._lost({ code: 4001, reason: 'no answer to ping' }, sentAt);
    });
  }

  _lost(close, since = Date.now()) {
    const ws = this._ws;
    this._ws = null;
    if (ws && ws.readyState < WebSocket.CLOSING) ws.close(4001, 'no answer');
    clearInterval(this._pingTimer);
    for (const [, waiting] of this._pending) {
      clearTimeout(waiting.timer);
      waiting.reject({ code: 'disconnected', message: 'the connection was lost' });
    }
    this._pending.clear();
    if (this._closed) return;
    if (close.code === POLICY_VIOLATION) {
      this.refused = close.reason || 'refused by the server';
      this._setStatus('refused');
    }
    if (this._lostSince == null) {
      this._lostSince = since;
      const left = Math.max(0, RECONNECTING_AFTER_MS - (Date.now() - since));
      this._lostTimer = setTimeout(() => {
        if (this.status !== 'refused') this._setStatus('reconnecting');
      }, left);
    }
    this._retryTimer = setTimeout(() => this.open(), this._delays.next().value);
  }

  _retryNow() {
    if (this._ws === null && !this._closed) {
      this._delays = backoff();
      this.open();
    }
  }

  _setStatus(status) {
    if (this.status === status) return;
    this.status = status;
    this.onStatus(status, this);
  }
}

// --- the state reducer --------------------------------------------------------------------

/**
 * Apply one event to a snapshot-shaped state, in place. Returns false when the state cannot be
 * kept right from the event alone (a notice, a day's expiry, a changed branch configuration,
 * a staff queue), so that the
 * caller fetches a fresh snapshot. Parts missing from a role's state are left alone.
 */
export function applyEvent(state, event) {
  const { kind, data = {} } = event;
  if (kind.startsWith('notice.') || kind === 'ticket.expired' || kind === 'branch.configured') return false;
  switch (kind) {
    case 'ticket.issued':
    case 'ticket.requeued':
      countWaiting(state, data, +1);
      break;
    case 'ticket.cancelled':
      countWaiting(state, data, -1);
      break;
    case 'ticket.called':
      countWaiting(state, data, -1);
      clearCurrent(state, data.number);
      setCurrent(state, data.counter, { number: data.number, service: data.service, state: 'called' });
      addCall(state, event);
      break;
    case 'ticket.recalled':
      setCurrent(state, data.counter, { number: data.number, service: data.service, state: 'called' });
      addCall(state, event);
      break;
    case 'ticket.started':
      setCurrent(state, data.counter, { number: data.number, service: data.service, state: 'serving' });
      break;
    case 'ticket.finished':
    case 'ticket.no_show':
      clearCurrent(state, data.number);
      break;
    case 'ticket.transferred':
      clearCurrent(state, data.number);
      if (data.state === 'waiting') countWaiting(state, data, +1);
      break;
    case 'counter.opened':
    case 'counter.paused':
    case 'counter.closed': {
      const counter = state.counters?.find((c) => c.number === data.counter);
      if (counter) {
        counter.state = data.state;
        counter.pause_reason = kind === 'counter.paused' ? data.reason ?? null : null;
        if (kind === 'counter.closed') counter.current = null;
      }
      break;
    }
    default:
      return true; // nothing this state shows (device.status, …)
  }
  return !(kind.startsWith('ticket.') && 'queue' in state);
}

function countWaiting(state, data, delta) {
  const service = state.services?.find((s) => s.code === data.service);
  if (!service) return;
  service.waiting = Math.max(0, service.waiting + delta);
  if (data.priority === 'green') service.green_waiting = Math.max(0, service.green_waiting + delta);
}

function setCurrent(state, number, current) {
  const counter = state.counters?.find((c) => c.number === number);
  if (counter) counter.current = current;
}

function clearCurrent(state, ticketNumber) {
  for (const counter of state.counters ?? []) {
    if (counter.current?.number === ticketNumber) counter.current = null;
  }
}

function addCall(state, { seq, kind, at, data }) {
  if (!state.calls) return;
  state.calls.unshift({ seq, kind, at, number: data.number, service: data.service, counter: data.counter });
  state.calls.length = Math.min(state.calls.length, RECENT_CALLS);
}
