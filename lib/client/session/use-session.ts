import { useEffect, useState, useSyncExternalStore } from "react";

/** What a page's session object gives the view (SpeakerSession; ListenerSession has the same store). */
export interface SessionStore<S> {
  subscribe(listener: () => void): () => void;
  getSnapshot(): S;
  /** Opens its connections (on mount). */
  start(): void;
  /** Closes them (on unmount; start() may follow, as React does in development). */
  stop(): void;
}

/**
 * The view's hook over a session object: made once per mount by `create`
 * (inert until started), started and stopped with the component, read
 * through useSyncExternalStore. Returns the state and the object (its
 * methods are the view's actions).
 */
export function useSession<T extends SessionStore<unknown>>(create: () => T): [ReturnType<T["getSnapshot"]>, T] {
  const [session] = useState(create);
  useEffect(() => {
    session.start();
    return () => session.stop();
  }, [session]);
  const state = useSyncExternalStore(session.subscribe, session.getSnapshot, session.getSnapshot) as ReturnType<T["getSnapshot"]>;
  return [state, session];
}
