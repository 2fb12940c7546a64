//! What an operator watches: liveness, readiness (store and agents), Prometheus metrics that a
//! Prometheus text parser reads, and the request id every answer carries.

use std::collections::HashMap;

use sspr_protocol::reset::Purpose;
use sspr_tests::api::{submit_password, to_new_password};
use sspr_tests::samba;
use sspr_tests::stack::Stack;

/// The samples of `/metrics`, by name and labels (`name{k="v",…}`, labels sorted).
async fn metrics(stack: &Stack) -> HashMap<String, f64> {
    let response = stack
        .http
        .get(stack.api("/metrics"))
        .send()
        .await
        .expect("metrics");
    assert_eq!(response.status(), 200);
    let text = response.text().await.expect("text");
    let lines = text.lines().map(|l| Ok(l.to_owned()));
    let scrape = prometheus_parse::Scrape::parse(lines).expect("Prometheus text format");
    scrape
        .samples
        .into_iter()
        .filter_map(|s| {
            let value = match s.value {
                prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Untyped(v) => v,
                _ => return None,
            };
            let mut labels: Vec<String> = s
                .labels
                .iter()
                .map(|(k, v)| format!("{k}=\"{v}\""))
                .collect();
            labels.sort();
            Some((format!("{}{{{}}}", s.metric, labels.join(",")), value))
        })
        .collect()
}

async fn get(stack: &Stack, path: &str) -> (u16, String, reqwest::header::HeaderMap) {
    let response = stack.http.get(stack.api(path)).send().await.expect(path);
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, response.text().await.unwrap_or_default(), headers)
}

#[tokio::test]
async fn health_readiness_metrics_and_request_ids() {
    let dc = samba::shared();
    dc.create_user(
        "ops.watch",
        "Old-Passw0rd!",
        Some("ops.watch@corp.example.test"),
        "Olga Monitor",
    )
    .expect("user");
    let mut stack = Stack::start(dc, |_| {}).await;

    let (status, body, headers) = get(&stack, "/healthz").await;
    assert_eq!((status, body.as_str()), (200, "ok"));
    let id = headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .expect("every answer names its request id");
    assert_eq!(id.len(), 36, "a UUID: {id}");
    let (_, _, again) = get(&stack, "/healthz").await;
    assert_ne!(again.get("x-request-id"), headers.get("x-request-id"));
    assert_eq!((get(&stack, "/readyz").await.0), 200);

    let before = metrics(&stack).await;
    assert_eq!(before.get("sspr_agents_connected{}"), Some(&1.0));
    let applied = "sspr_writebacks_total{operation=\"reset\",outcome=\"applied\"}";
    assert_eq!(before.get(applied), None);

    let (flow_id, step) = to_new_password(
        &stack,
        &dc.upn("ops.watch"),
        "ops.watch@corp.example.test",
        0,
    )
    .await;
    let refused = submit_password(&stack, &flow_id, &step.agent_key, "short").await;
    assert!(refused.is_err(), "too short for AD");
    submit_password(&stack, &flow_id, &step.agent_key, "Watched-Passw0rd!")
        .await
        .expect("reset");
    crate::agent_ad::bind_as(dc, "ops.watch", "Watched-Passw0rd!")
        .await
        .expect("the new password binds");

    let after = metrics(&stack).await;
    assert_eq!(after.get(applied), Some(&1.0), "{after:#?}");
    assert_eq!(
        after.get("sspr_writebacks_total{operation=\"reset\",outcome=\"password_too_short\"}"),
        Some(&1.0),
        "{after:#?}"
    );
    assert_eq!(
        after.get("sspr_codes_total{delivery=\"sent\",method=\"mail\"}"),
        Some(&1.0)
    );
    let round_trips = after
        .get("sspr_relay_round_trip_seconds_count{request=\"apply\"}")
        .copied()
        .unwrap_or_default();
    assert!(round_trips >= 2.0, "{after:#?}");

    // A flood of flow starts from one address (30 per 15 minutes): refused, and counted by
    // limit.
    for _ in 0..32 {
        let _ = sspr_tests::api::post::<_, serde_json::Value>(
            &stack,
            sspr_protocol::reset::START_PATH,
            &sspr_protocol::reset::StartRequest {
                username: "nobody.here".into(),
                lang: sspr_protocol::Lang::En,
                purpose: Purpose::Reset,
            },
        )
        .await;
    }
    let flooded = metrics(&stack).await;
    assert!(
        flooded
            .keys()
            .any(|k| k.starts_with("sspr_limit_refusals_total{limit=\"")),
        "{flooded:#?}"
    );
    assert!(
        stack.server.log().contains("refused by a rate limit"),
        "a refusal leaves a line in the log"
    );

    // No agent: not ready, and the answer says why.
    stack.agent.stop();
    stack.wait_writeback(false).await;
    let (status, body, _) = get(&stack, "/readyz").await;
    assert_eq!((status, body.as_str()), (503, "no agent connected"));
    assert_eq!(
        metrics(&stack).await.get("sspr_agents_connected{}"),
        Some(&0.0)
    );
}
