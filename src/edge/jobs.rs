//! The `JOBS` queue's consumer: webhook deliveries and click replays (the
//! messages are in `queue`).

use crate::edge::config;
use crate::edge::db::Db;
use crate::edge::log;
use crate::edge::queue::Job;
use crate::edge::{clicks, rollup, webhook_delivery};
use worker::{Env, MessageBatch, MessageExt};

pub async fn consume(batch: MessageBatch<Job>, env: Env) -> worker::Result<()> {
    let cfg = config::get(&env);
    let db = match Db::new(&env) {
        Ok(db) => db,
        Err(_) => {
            batch.retry_all();
            return Ok(());
        }
    };
    for raw in batch.raw_iter() {
        let job = match Job::decode(raw.body()) {
            Ok(j) => j,
            Err(e) => {
                log::event("job_malformed", &e);
                raw.ack();
                continue;
            }
        };
        match job {
            Job::Webhook(d) => match webhook_delivery::deliver(&db, &env, &cfg, &d).await {
                Ok(()) => raw.ack(),
                // Could not even log or re-enqueue: let the queue redeliver this try.
                Err(e) => {
                    log::event(
                        "webhook_delivery_error",
                        &format!("{} {}: {e}", d.webhook_id, d.event_id),
                    );
                    raw.retry();
                }
            },
            Job::Click(c) => {
                // `record` re-enqueues on failure itself, so the message is done.
                clicks::record(&env, &db, cfg.rollup_shards, c).await;
                raw.ack();
            }
        }
    }
    // A good moment to apply anything parked while the rollup was failing.
    rollup::drain_if_pending(&env, &db, cfg.rollup_shards).await;
    Ok(())
}
