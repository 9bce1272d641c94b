/**
 * The garbage collector against a scripted API server: background deletion of dependents whose
 * owners are gone, confirmed by a live GET (attemptToDeleteItem), and a deletion that looks at
 * the dependents of what went rather than at every object.
 */
import { expect } from 'chai';
import { garbageCollector } from '../../../actors/controllers/garbage-collector.ts';
import type { KObject } from '../../../src/protocol.ts';
import { ScriptedCluster } from '../../helpers/scripted-cluster.ts';

class World extends ScriptedCluster {
  constructor() {
    super('garbage-collector-controller');
    this.c = garbageCollector(this.port);
    this.c.start?.();
    this.pump();
  }

  /** Stores an object on the server only: the collector has not seen it (its watch is late). */
  serverOnly(obj: KObject): void {
    this.objs.set(this.key(obj.kind, obj.metadata.namespace, obj.metadata.name!), structuredClone(obj));
  }

  requests(verb: string): string[] {
    return this.log.filter((l) => l.startsWith(`${verb} `));
  }
}

const sts = (name: string, uid: string): KObject => ({ apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name, namespace: 'default', uid }, spec: {} });
const owned = (kind: string, name: string, owner: KObject): KObject => ({
  apiVersion: 'v1',
  kind,
  metadata: { name, namespace: 'default', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: owner.metadata.name!, uid: owner.metadata.uid!, controller: true }] },
  spec: {},
});

describe('garbage collector', () => {
  it('deletes the dependents of a deleted owner, each after a GET confirms the owner is gone', () => {
    const w = new World();
    const web = sts('web', 'uid-web');
    w.put(web);
    w.put(owned('Pod', 'web-0', web));
    w.put(owned('PersistentVolumeClaim', 'www-web-0', web));
    expect(w.log).to.deep.equal([]);
    w.remove('StatefulSet', 'web', 'default');
    w.advance(0);
    // In the order a scan meets them (pods before claims); both GETs go out before either answer.
    expect(w.log).to.deep.equal(['get StatefulSet/web', 'get StatefulSet/web', 'delete Pod/web-0', 'delete PersistentVolumeClaim/www-web-0']);
    expect(w.get('Pod', 'web-0', 'default')).to.equal(undefined);
    expect(w.get('PersistentVolumeClaim', 'www-web-0', 'default')).to.equal(undefined);
  });

  it('keeps a dependent whose owner its watch has not shown yet but a GET finds alive', () => {
    const w = new World();
    const web = sts('web', 'uid-web');
    w.serverOnly(web);
    w.put(owned('Pod', 'web-0', web));
    w.advance(0);
    expect(w.log).to.deep.equal(['get StatefulSet/web']);
    expect(w.get('Pod', 'web-0', 'default')).to.not.equal(undefined);
  });

  it('a deletion looks only at the dependents of what went (no GETs for other objects)', () => {
    const w = new World();
    const web = sts('web', 'uid-web');
    const db = sts('db', 'uid-db');
    w.serverOnly(web);
    w.put(db);
    w.put(owned('Pod', 'web-0', web));
    w.put(owned('Pod', 'db-0', db));
    w.advance(0);
    expect(w.requests('get')).to.deep.equal(['get StatefulSet/web']);
    w.remove('StatefulSet', 'db', 'default');
    w.advance(0);
    // db-0 is looked at and deleted; web-0, whose owner the watch has still not shown, is not
    // asked about again.
    expect(w.log.slice(1)).to.deep.equal(['get StatefulSet/db', 'delete Pod/db-0']);
  });

  it('a dependent whose owner was already deleted is deleted when it is seen', () => {
    const w = new World();
    const web = sts('web', 'uid-web');
    w.put(owned('Pod', 'web-0', web));
    w.advance(0);
    expect(w.log).to.deep.equal(['get StatefulSet/web', 'delete Pod/web-0']);
  });

  it('a dependent whose owner was replaced by one of the same name (another uid) is deleted', () => {
    const w = new World();
    const old = sts('web', 'uid-web-1');
    w.put(old);
    w.put(owned('Pod', 'web-0', old));
    w.remove('StatefulSet', 'web', 'default');
    w.serverOnly(sts('web', 'uid-web-2'));
    w.advance(0);
    expect(w.log).to.deep.equal(['get StatefulSet/web', 'delete Pod/web-0']);
  });
});
