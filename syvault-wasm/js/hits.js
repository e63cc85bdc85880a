// A repeated `get` of a secret the cache holds fresh, answered on this side of the boundary: a
// call into the WebAssembly module and back costs more than the cached read itself. The module
// hands out tickets (the object it gave for a UID, and the instant until which its core would
// answer a read of that UID as a plain cache hit), voids them all whenever its cache changes,
// and, before its core does anything else, takes back the reads answered here, which then count
// as the core's own cache hits and move their secrets to the front of its eviction order.
const HITS = Symbol("syvault.hits");

// The module holds these functions, and what the module holds JavaScript's collector cannot
// free: they must not hold the client, or a client dropped without `free()` would never be
// collected (and its module memory never freed).
class Hits {
  constructor(client) {
    /** uid -> { object, until } */
    this.tickets = new Map();
    /** uid -> reads answered here since the module last took them, least recent first */
    this.answered = new Map();
    this.last = undefined;
    client.__answerHits(
      (uid, object, until) => {
        this.tickets.set(uid, { object, until });
      },
      () => {
        this.tickets.clear();
      },
      () => {
        const taken = [];
        for (const [uid, reads] of this.answered) taken.push(uid, reads);
        this.answered.clear();
        this.last = undefined;
        return taken;
      },
    );
  }

  /** The object of a fresh read of `uid`, or `undefined` if the module must answer it. */
  answer(client, uid) {
    const ticket = this.tickets.get(uid);
    if (ticket === undefined || !(Date.now() < ticket.until)) return undefined;
    const reads = this.answered.get(uid);
    if (reads === undefined) {
      if (this.answered.size === 0) client.__hitsAnswered();
      this.answered.set(uid, 1);
    } else if (uid === this.last) {
      this.answered.set(uid, reads + 1);
    } else {
      // Re-inserted, so that the map stays in the order of last reads.
      this.answered.delete(uid);
      this.answered.set(uid, reads + 1);
    }
    this.last = uid;
    return ticket.object;
  }
}

/** Makes `Client.prototype.get` answer fresh reads here; `free` drops what was kept. */
export function answerHits(Client) {
  const { get, free } = Client.prototype;
  const methods = {
    get(uid) {
      const hits = this[HITS] ?? (this[HITS] = new Hits(this));
      const object = hits.answer(this, uid);
      return object === undefined ? get.call(this, uid) : Promise.resolve(object);
    },
    free() {
      delete this[HITS];
      return free.call(this);
    },
  };
  for (const [name, value] of Object.entries(methods)) {
    Object.defineProperty(Client.prototype, name, { value, writable: true, configurable: true });
  }
  if (Symbol.dispose) {
    Object.defineProperty(Client.prototype, Symbol.dispose, {
      value: methods.free,
      writable: true,
      configurable: true,
    });
  }
}
