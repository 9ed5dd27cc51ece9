/**
 * Why an upstream gave no answer: nothing listening, no answer in time, the client left
 * first (which says nothing about the app), or anything else.
 */
export class UpstreamError extends Error {
  constructor(readonly kind: 'refused' | 'timeout' | 'client-gone' | 'failed', message: string) {
    super(message)
    this.name = 'UpstreamError'
  }
}
