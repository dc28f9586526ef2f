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
 * Also exported: applyEvent(state, event), the reducer (pure apart from mutating `state`);
 * counterQueue(state, n), counter n's waiting list in its call order, drawn from a staff state
 * (callOrder and branchOrder, the mirrors of the server's orders it rests on); and backoff(),
 * the reconnect delays as a generator.
 *
 * change is {kind: 'snapshot', resync, previous} (resync: a state was already shown, previous is
 * that state) or {kind: 'event', event} with event = {seq, kind, at, data}, already applied.
 *
 * What it does for you: hello as the first message; a snapshot on every (re)connect, so a page
 * comes back complete after any outage without reloading; events applied in seq order (staff
 * states too: their queue, counters and calls follow the ticket and counter events), and a
 * gap (or an event it cannot apply, e.g. a notice) answered with a
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
 * kept right from the event alone (a notice, a changed branch configuration, a day's expiry on a
 * device screen; on a staff screen also a ticket kind it does not know, or a ticket it cannot
 * find or place), so that the caller fetches a fresh snapshot. Parts missing from a role's
 * state are left alone.
 *
 * Device states (display, kiosk, evaluator) keep the waiting counts, each counter's state and
 * current number, and the recent calls; a day's expiry fetches a fresh snapshot. Staff states
 * (roles counter and dashboard: those holding `queue`) are kept whole, see applyStaffEvent.
 */
export function applyEvent(state, event) {
  const { kind, data = {} } = event;
  if (kind.startsWith('notice.') || kind.startsWith('emergency.') || kind === 'branch.configured') return false;
  if ('queue' in state) return applyStaffEvent(state, event);
  if (kind === 'ticket.expired') return false;
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
      if (counter) setCounterState(counter, kind, data);
      break;
    }
    default:
      return true; // nothing this state shows (device.status, …)
  }
  return true;
}

/**
 * The reducer for staff states: besides what device states keep, the waiting `queue` in the
 * server's order (server/services/queries.py read_queue: overdue first, then green channel,
 * then transferred "first", then by queued_at and id, judged at the time of the last ticket to
 * join it), each counter's current ticket as staff see it (TicketAnswer) and its holder, the
 * devices' status, and the day's business date. A ticket kind it does not know, or an event
 * whose ticket it cannot find or place, returns false (a fresh snapshot); other unknown kinds
 * (alerts, bookings, …) change nothing here.
 *
 * Queue entries made from events carry what QueueEntry does except green_reason (no event
 * carries customer data), plus `head`, and `recalls`/`transfers` where known.
 */
export function applyStaffEvent(state, event) {
  const apply = STAFF_APPLIERS[event.kind];
  if (apply) return apply(state, event);
  return !event.kind.startsWith('ticket.');
}

const RECENT_CALLS_KEPT = 12; // call classes a counter remembers (server/services/counters.py)

const STAFF_APPLIERS = {
  'ticket.issued'(state, { at, data }) {
    const entry = queueEntry(data, at, {
      queued_at: data.queued_at ?? at, // issued now: it joins the queue now, at no head
      issued_at: data.issued_at ?? at,
      head: data.head ?? false,
      target_counter: data.target_counter ?? null,
      // A checked-in appointment: its slot's start, which the teller sees once it is called.
      ...(data.appointment ? { appointment: data.appointment } : {}),
    });
    return enqueue(state, entry, at) && countWaiting(state, data, +1);
  },

  'ticket.called'(state, event) {
    const { at, data } = event;
    const entry = state.queue.find((e) => e.id === data.id);
    const counter = counterOf(state, data.counter);
    if (!entry || !counter) return false;
    dequeue(state, entry);
    countWaiting(state, entry, -1);
    for (const c of state.counters) if (c.current?.id === data.id) c.current = null;
    counter.current = {
      id: data.id,
      number: data.number,
      service: data.service,
      priority: data.priority,
      ...('green_reason' in entry ? { green_reason: entry.green_reason } : {}),
      ...(entry.appointment ? { appointment: entry.appointment } : {}),
      state: data.state ?? 'called',
      issued_at: entry.issued_at,
      queued_at: entry.queued_at,
      called_at: at,
      started_at: null,
      finished_at: null,
      counter: data.counter,
      target_counter: entry.target_counter ?? null,
      recalls: data.recalls ?? entry.recalls ?? 0,
      transfers: data.transfers ?? entry.transfers ?? 0,
    };
    if (typeof counter.recent_calls === 'string') {
      counter.recent_calls = (counter.recent_calls + (data.priority === 'green' ? 'g' : 'n')).slice(-RECENT_CALLS_KEPT);
    }
    addCall(state, event);
    return true;
  },

  'ticket.recalled'(state, event) {
    const current = currentTicket(state, event.data);
    if (!current) return false;
    current.recalls = event.data.recalls ?? (current.recalls ?? 0) + 1;
    current.state = 'called';
    addCall(state, event);
    return true;
  },

  'ticket.started'(state, { at, data }) {
    const current = currentTicket(state, data);
    if (!current) return false;
    current.state = data.state ?? 'serving';
    current.started_at = at;
    return true;
  },

  'ticket.finished': leaveCounter,
  'ticket.no_show': leaveCounter,

  'ticket.transferred'(state, { at, data }) {
    const from = counterOf(state, data.from_counter);
    const current = from?.current;
    if (!current || current.id !== data.id) return false;
    const entry = queueEntry(data, at, {
      ...('green_reason' in current ? { green_reason: current.green_reason } : {}),
      ...entered(data, at, data.issued_at ?? current.issued_at),
      target_counter: data.target_counter ?? data.to_counter ?? null,
      recalls: data.recalls ?? current.recalls,
      transfers: data.transfers ?? (current.transfers ?? 0) + 1,
    });
    if (!entry.queued_at || !enqueue(state, entry, at)) return false;
    from.current = null;
    return countWaiting(state, data, +1);
  },

  'ticket.requeued'(state, { at, data }) {
    // A no-show has left the staff state: where it re-enters needs its issue time and target.
    if (!data.issued_at || !('target_counter' in data)) return false;
    const entry = queueEntry(data, at, {
      ...entered(data, at, data.issued_at),
      target_counter: data.target_counter,
      ...('recalls' in data ? { recalls: data.recalls } : {}),
      ...('transfers' in data ? { transfers: data.transfers } : {}),
    });
    if (!entry.queued_at || !enqueue(state, entry, at)) return false;
    return countWaiting(state, data, +1);
  },

  'ticket.cancelled'(state, { data }) {
    const entry = state.queue.find((e) => e.id === data.id);
    if (!entry) return false;
    dequeue(state, entry);
    return countWaiting(state, entry, -1);
  },

  'ticket.expired'(state, { data }) {
    // The day closed: without the new business date the state cannot say which day it shows.
    if (typeof data.business_date !== 'string') return false;
    const entry = state.queue.find((e) => e.id === data.id);
    if (entry) {
      dequeue(state, entry);
      countWaiting(state, entry, -1);
    }
    for (const c of state.counters ?? []) if (c.current?.id === data.id) c.current = null;
    if (state.branch && state.branch.business_date !== data.business_date) {
      state.branch.business_date = data.business_date;
      if (state.calls) state.calls.length = 0; // the snapshot lists today's calls only
    }
    return true;
  },

  'counter.opened': counterChanged,
  'counter.paused': counterChanged,
  'counter.closed': counterChanged,

  'device.status'(state, { data }) {
    const device = state.devices?.find((d) => d.id === data.device);
    if (device) device.status = data.status;
    return true;
  },
};

function leaveCounter(state, { data }) {
  for (const c of state.counters ?? []) {
    if (c.current && (c.current.id === data.id || (c.current.id === undefined && c.current.number === data.number))) {
      c.current = null;
    }
  }
  return true;
}

function counterChanged(state, { kind, data }) {
  const counter = counterOf(state, data.counter);
  if (!counter) return false;
  setCounterState(counter, kind, data);
  if ('staff' in counter) {
    if (kind === 'counter.opened') counter.staff = data.staff ?? counter.staff;
    if (kind === 'counter.closed') counter.staff = null;
  }
  return true;
}

function setCounterState(counter, kind, data) {
  counter.state = data.state;
  // Device screens get the fixed reason (code) only; staff screens also the teller's words.
  counter.pause_code = kind === 'counter.paused' ? data.code ?? null : null;
  counter.pause_reason = kind === 'counter.paused' ? data.reason ?? null : null;
  if (kind === 'counter.closed') counter.current = null;
}

function counterOf(state, number) {
  return state.counters?.find((c) => c.number === number) ?? null;
}

/** The current ticket at data.counter, when it is the event's ticket. */
function currentTicket(state, data) {
  const current = counterOf(state, data.counter)?.current;
  return current && current.id === data.id ? current : null;
}

/** Where a transferred or requeued ticket re-enters (server/services/tickets.py queue_position). */
function entered(data, at, issuedAt) {
  const position = data.position;
  const known = ['first', 'last', 'original'].includes(position);
  return {
    issued_at: issuedAt,
    queued_at: data.queued_at ?? (!known ? null : position === 'original' ? issuedAt : at),
    head: data.head ?? (known ? position === 'first' : undefined),
  };
}

function queueEntry(data, at, fields) {
  const entry = {
    id: data.id,
    number: data.number,
    service: data.service,
    priority: data.priority,
    ...fields,
  };
  entry.waited_s = entry.issued_at ? Math.max(0, Math.trunc((micros(at) - micros(entry.issued_at)) / 1e6)) : 0;
  return entry;
}

function enqueue(state, entry, at) {
  if (typeof entry.head !== 'boolean') return false;
  const queue = placed(state.queue, entry, { now: micros(at), maxWait: maxWaits(state) });
  if (!queue) return false;
  state.queue = queue;
  return true;
}

function dequeue(state, entry) {
  state.queue = state.queue.filter((e) => e !== entry);
}

function countWaiting(state, data, delta) {
  const service = state.services?.find((s) => s.code === data.service);
  if (!service) return true;
  service.waiting = Math.max(0, service.waiting + delta);
  if (data.priority === 'green') service.green_waiting = Math.max(0, service.green_waiting + delta);
  return true;
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

// --- queue order: mirrors of the server's, kept in step with it -------------------------------

/** An ISO-8601 instant in microseconds since the epoch (the server's times carry microseconds). */
export function micros(iso) {
  const fraction = /\.(\d+)/.exec(iso)?.[1] ?? '';
  return Date.parse(iso) * 1000 + Number(`${fraction}000000`.slice(3, 6));
}

/** Each service's max wait in seconds (0 or missing: none), from a staff state's services. */
export function maxWaits(state) {
  return Object.fromEntries((state.services ?? []).map((s) => [s.code, s.max_wait_s || 0]));
}

function overdue(ticket, now, maxWait) {
  const max = maxWait[ticket.service];
  return Boolean(max) && now - micros(ticket.queued_at) > max * 1e6;
}

function byTime(a, b) {
  return micros(a.queued_at) - micros(b.queued_at) || a.id - b.id;
}

/** _branch_key's (not overdue, not green, not head), as numbers: 0 goes first. */
function branchKey(t, now, maxWait) {
  return [overdue(t, now, maxWait) ? 0 : 1, t.priority === 'green' ? 0 : 1, t.head ? 0 : 1];
}

/**
 * Waiting tickets in the branch's call order at `now` (µs), as read_queue gives them without a
 * counter (server/services/queries.py _branch_key): overdue first, then green channel, then
 * those placed at the head, then by the time they joined the queue, then id. Every ticket
 * must say whether it is at the `head`.
 */
export function branchOrder(queue, { now, maxWait = {} }) {
  const keys = new Map(queue.map((t) => [t, branchKey(t, now, maxWait)]));
  return [...queue].sort((a, b) => {
    const [ka, kb] = [keys.get(a), keys.get(b)];
    return ka[0] - kb[0] || ka[1] - kb[1] || ka[2] - kb[2] || byTime(a, b);
  });
}

/**
 * `queue` (in the server's order) with `entry` placed where the server would put it at `now`,
 * or null when that cannot be told. When every ticket says whether it is at the head, the whole
 * queue is ordered afresh. Otherwise (a snapshot's entries lacking `head`) the queue stays in
 * the order the server gave, which is still its order as long as nothing in it has turned
 * overdue, and the entry goes in among its class wherever no unknown `head` could change that.
 */
function placed(queue, entry, { now, maxWait }) {
  const all = [...queue.filter((e) => e.id !== entry.id), entry];
  if (all.every((e) => typeof e.head === 'boolean')) return branchOrder(all, { now, maxWait });
  if (all.some((e) => overdue(e, now, maxWait))) return null;
  const rest = all.slice(0, -1);
  const before = rest.map((e) => precedes(e, entry));
  if (before.includes(null)) return null;
  const at = before.indexOf(false) < 0 ? rest.length : before.indexOf(false);
  if (before.slice(at).some(Boolean)) return null; // not in the server's order after all
  return [...rest.slice(0, at), entry, ...rest.slice(at)];
}

/** Whether e comes before n in a queue where nothing is overdue: true, false or null (unknown). */
function precedes(e, n) {
  const green = e.priority === 'green';
  if (green !== (n.priority === 'green')) return green;
  const earlier = byTime(e, n) < 0;
  if (typeof e.head === 'boolean') return e.head !== n.head ? e.head : earlier;
  if (n.head) return earlier ? null : false;
  return earlier ? true : null;
}

/**
 * The tickets counter `profile` may call, in the order it would call them: a mirror of
 * server/domain/policy.py call_order (read its docstring for the rules); change both together.
 *
 *   profile: {number, services: ['A', …], mode: 'ordered' | 'longest_wait', green_only,
 *             green_ratio: {green, normal} | null}
 *   recent:  the counter's recent call classes, oldest first ('gnn…')
 *   maxWait: service code → max wait in seconds; now: µs since the epoch
 *
 * Tickets are queue entries (id, service, priority, queued_at, head, target_counter). A ticket
 * whose `head` is not known ranks among the others of its class by its place in `waiting`,
 * which must then be the server's branch order.
 */
export function callOrder(waiting, profile, { recent = '', maxWait = {}, now }) {
  const place = new Map(waiting.map((t, i) => [t, i]));
  let pool = waiting.filter((t) => mayCall(t, profile));
  const calls = [...recent];
  const order = [];
  while (pool.length) {
    const chosen = choose(pool, profile, { calls, maxWait, now, place });
    order.push(chosen);
    pool = pool.filter((t) => t !== chosen);
    calls.push(chosen.priority === 'green' ? 'g' : 'n');
  }
  return order;
}

function mayCall(t, profile) {
  const target = t.target_counter ?? null;
  return target === profile.number || (target === null && profile.services.includes(t.service));
}

function choose(pool, profile, { calls, maxWait, now, place }) {
  const late = pool.filter((t) => overdue(t, now, maxWait));
  if (late.length) return minimum(late, byTime);
  const greens = pool.filter((t) => t.priority === 'green');
  const normals = pool.filter((t) => t.priority !== 'green');
  let group;
  if (profile.green_only || !normals.length) group = greens.length ? greens : normals;
  else if (!greens.length) group = normals;
  else group = nextClass(calls, profile.green_ratio) === 'g' ? greens : normals;
  const rank = (t) => (t.target_counter === profile.number ? 0 : profile.services.indexOf(t.service));
  return minimum(group, (a, b) => {
    if (profile.mode === 'ordered' && rank(a) !== rank(b)) return rank(a) - rank(b);
    if (typeof a.head === 'boolean' && typeof b.head === 'boolean') {
      return a.head !== b.head ? (a.head ? -1 : 1) : byTime(a, b);
    }
    return place.get(a) - place.get(b);
  });
}

/** policy.py next_class: green first, or where the ratio's cycle stands after `calls`. */
function nextClass(calls, ratio) {
  if (!ratio || !calls.length) return 'g';
  const last = calls[calls.length - 1];
  let run = 0;
  for (let i = calls.length - 1; i >= 0 && calls[i] === last; i -= 1) run += 1;
  if (last === 'g') return run < ratio.green ? 'g' : 'n';
  return run < ratio.normal ? 'n' : 'g';
}

function minimum(items, compare) {
  return items.reduce((best, t) => (compare(t, best) < 0 ? t : best));
}

/** "1:2" → {green: 1, normal: 2}; null for none. */
export function parseRatio(text) {
  const m = /^(\d+):(\d+)$/.exec(text ?? '');
  return m ? { green: Number(m[1]), normal: Number(m[2]) } : null;
}

/**
 * Counter `number`'s waiting list from a staff state, in the order it would call them
 * (GET /queue?counter=N), or null when the state cannot tell that order: the snapshot does
 * not say the counter's mode, green ratio, green-only flag or recent calls, and the tickets
 * waiting now are such that they would matter.
 */
export function counterQueue(state, number, now = Date.now() * 1000) {
  const counter = counterOf(state, number);
  if (!counter || !Array.isArray(state.queue)) return null;
  const maxWait = maxWaits(state);
  const ratio = counter.green_ratio === undefined ? undefined : parseRatio(counter.green_ratio);
  const profile = {
    number,
    services: counter.services ?? [],
    green_only: counter.green_only ?? false,
    green_ratio: ratio ?? null,
  };
  const recent = counter.recent_calls ?? '';
  const onTime = state.queue.filter((t) => mayCall(t, profile) && !overdue(t, now, maxWait));
  const mixed = onTime.some((t) => t.priority === 'green') && onTime.some((t) => t.priority !== 'green');
  const unknownClassRule =
    ratio === undefined || (ratio !== null && (counter.green_only === undefined || counter.recent_calls === undefined));
  if (mixed && unknownClassRule) return null;
  const modes = counter.mode === undefined ? ['ordered', 'longest_wait'] : [counter.mode];
  const [order, other] = modes.map((mode) => callOrder(state.queue, { ...profile, mode }, { recent, maxWait, now }));
  if (other && other.some((t, i) => t !== order[i])) return null;
  return order;
}
