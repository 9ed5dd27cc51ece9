/**
 * The tunnel lifecycle shared by every provider (runbook §2.3: `stopped | starting | running |
 * stopping | failed`). The table is the whole machine: the manager moves only along its edges.
 */
export type TunnelState = 'stopped' | 'starting' | 'running' | 'stopping' | 'failed'

export const TUNNEL_STATES: readonly TunnelState[] = ['stopped', 'starting', 'running', 'stopping', 'failed']

/** Allowed moves. `failed → starting` is a manual start or an autoRestart attempt. */
const EDGES: Record<TunnelState, readonly TunnelState[]> = {
  stopped: ['starting'],
  // Ready, never ready (timeout / exit / spawn error), or stopped while starting.
  starting: ['running', 'failed', 'stopping'],
  // Stopped by request, or the child exited on its own.
  running: ['stopping', 'failed'],
  // The child is gone (stopped), or it refused to die even after SIGKILL (failed).
  stopping: ['stopped', 'failed'],
  failed: ['starting', 'stopped'],
}

export function canTransition(from: TunnelState, to: TunnelState): boolean {
  return EDGES[from].includes(to)
}

/** Thrown on a move the table does not allow: a bug in the manager, never user input. */
export class TransitionError extends Error {
  constructor(readonly from: TunnelState, readonly to: TunnelState) {
    super(`Tunnel state cannot change from "${from}" to "${to}"`)
    this.name = 'TransitionError'
  }
}

/** States in which a child process may exist. */
export const isActive = (s: TunnelState) => s === 'starting' || s === 'running' || s === 'stopping'
