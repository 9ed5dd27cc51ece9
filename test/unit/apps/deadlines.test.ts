import { describe, expect, it } from 'bun:test'
import { Deadlines, type Watched } from '../../../src/apps/deadlines.ts'

function watched(deadlineInMs: number, gone = () => false) {
  const expired: string[] = []
  const w: Watched = { prev: null, next: null, deadline: performance.now() + deadlineInMs, clientGone: gone, expire: (why) => expired.push(why) }
  return { w, expired }
}

describe('Deadlines', () => {
  it('expires an exchange once its deadline has passed, at most a tick late', async () => {
    const d = new Deadlines(20)
    const a = watched(200)
    const b = watched(10_000)
    d.add(a.w)
    d.add(b.w)
    await Bun.sleep(40)
    expect(a.expired).toEqual([])
    await Bun.sleep(300)
    expect(a.expired).toEqual(['timeout'])
    expect(b.expired).toEqual([])
    expect(d.size).toBe(1)
    d.delete(b.w)
    expect(d.size).toBe(0)
  })

  it('ends an exchange whose client has gone away', async () => {
    const d = new Deadlines(20)
    let gone = false
    const a = watched(10_000, () => gone)
    d.add(a.w)
    await Bun.sleep(50)
    expect(a.expired).toEqual([])
    gone = true
    await Bun.sleep(50)
    expect(a.expired).toEqual(['client'])
    expect(d.size).toBe(0)
  })

  it('forgets removed exchanges wherever they are in the list, and tolerates a second removal', async () => {
    const d = new Deadlines(20)
    const all = [watched(30), watched(30), watched(30), watched(30)]
    for (const x of all) d.add(x.w)
    d.delete(all[2].w)
    d.delete(all[0].w)
    d.delete(all[0].w)
    d.delete(all[3].w)
    expect(d.size).toBe(1)
    await Bun.sleep(80)
    expect(all.map((x) => x.expired.length)).toEqual([0, 1, 0, 0])
    expect(d.size).toBe(0)
  })
})
