import t from 'tap';
import { createInstanceRepository } from '../../src/storage/index.js';
import { eachEngine } from '../helpers/database.js';

void eachEngine(t, 'the first start records the server name and later starts check it', async (t, db) => {
  const instance = createInstanceRepository(db.sql);
  t.equal(await instance.instance(), null, 'a new database belongs to no one yet');

  await instance.claimServerName('example.org', 1_700_000_000_000);
  t.same(await instance.instance(), { serverName: 'example.org', createdTs: 1_700_000_000_000 });

  await instance.claimServerName('example.org', 1_800_000_000_000);
  t.same(
    await instance.instance(),
    { serverName: 'example.org', createdTs: 1_700_000_000_000 },
    'a restart under the same name changes nothing, not even the creation time',
  );

  await t.rejects(instance.claimServerName('other.example', 1_800_000_000_000), {
    name: 'StorageError',
    message: 'this database belongs to server_name example.org; it cannot be served as other.example',
  });
  t.same((await instance.instance())?.serverName, 'example.org', 'the refused name is not recorded');
});

void eachEngine(t, 'two processes claiming at once agree on one name', async (t, db) => {
  const instance = createInstanceRepository(db.sql);
  const results = await Promise.allSettled([
    instance.claimServerName('a.example', 1),
    instance.claimServerName('b.example', 2),
  ]);
  t.same(results.map((r) => r.status).sort(), ['fulfilled', 'rejected'], 'exactly one claim wins');
  t.same(await db.sql`select count(*) as n from instance`, [{ n: 1 }]);
});
