//! Creating the tables of the `cutover` schema (apply's, backfill's) on first use: once, in
//! one transaction, safe when two tools start at the same moment.

use crate::Error;
use tokio_postgres::Client;

/// Runs `statements` unless `exists` (a query returning one boolean) says the state is
/// there. `statements[0]` takes the setup lock (a transaction advisory lock); the check is
/// repeated under it, since another tool may have created the state while this one waited.
pub(crate) async fn create_once(client: &Client, what: &str, exists: &str, statements: &[String]) -> Result<(), Error> {
    let fail = |e| Error::query(format!("creating {what}"), e);
    let found: bool = client.query_one(exists, &[]).await.map_err(fail)?.get(0);
    if found {
        return Ok(());
    }
    client.batch_execute("BEGIN").await.map_err(fail)?;
    let body = async {
        client.batch_execute(&statements[0]).await?;
        let exists: bool = client.query_one(exists, &[]).await?.get(0);
        if !exists {
            for statement in &statements[1..] {
                client.batch_execute(statement).await?;
            }
        }
        client.batch_execute("COMMIT").await
    };
    if let Err(e) = body.await {
        let _ = client.batch_execute("ROLLBACK").await;
        return Err(fail(e));
    }
    Ok(())
}
