//! Destinations in another account: `role_arn` (and `external_id`) assumed
//! with STS. Against the sandbox's STS through the router: credentials are
//! fetched once and reused; a refused role dead-letters the records with the
//! reason; a throttled STS is retried like any send. Against moto's STS: the
//! credentials are refreshed when they expire, without failing a request.

use fanout::clients::assume_role::RoleCredentials;
use fanout::{Config, Fanout};
use fanout_sandbox::faults::{Api, FaultSpec};
use fanout_sandbox::SandboxOptions;
use fanout_tests::invariant::{self, Input, Summary};
use fanout_tests::moto::Moto;
use std::collections::HashSet;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

const ROLE: &str = "arn:aws:iam::210987654321:role/fanout-writer";

fn config(role: &str) -> Config {
    let text = format!(
        "destinations:\n  orders: {{ type: sqs, queue_url: 'https://sqs.eu-west-1.amazonaws.com/210987654321/orders', region: eu-west-1, role_arn: '{role}', external_id: tenant-42 }}\n\
         \x20 dead: {{ type: firehose, delivery_stream: dead }}\n\
         routes:\n  - {{ name: all, to: [orders] }}\ndead_letter: dead\n\
         delivery: {{ max_attempts: 4, base_delay_ms: 1, max_delay_ms: 5, deadline_margin_ms: 200 }}\n"
    );
    Config::parse(&text, Path::new("role.yaml")).expect("valid")
}

fn inputs(n: usize) -> Vec<Input> {
    (0..n)
        .map(|i| Input { id: format!("seq-{i:04}"), payload: format!(r#"{{"n":{i}}}"#).into_bytes(), routed_to: vec![(Api::Sqs, "orders".into())] })
        .collect()
}

async fn invoke(fanout: &Fanout, inputs: &[Input]) -> Vec<String> {
    let event = fanout_tests::kinesis_event(inputs.iter().map(|r| (r.id.as_str(), "pk", r.payload.as_slice())));
    let response = fanout::sources::kinesis::handle(fanout, event, SystemTime::now() + Duration::from_secs(30)).await.expect("a response");
    response.batch_item_failures.into_iter().filter_map(|f| f.item_identifier).collect()
}

fn sts_calls(sandbox: &fanout_sandbox::Sandbox) -> Vec<u16> {
    sandbox.state.world().store.calls().iter().filter(|c| c.api == Api::Sts).map(|c| c.status).collect()
}

fn options(roles: &[&str], faults: &str) -> SandboxOptions {
    let mut resources: Vec<(Api, String)> = roles.iter().map(|r| (Api::Sts, (*r).to_owned())).collect();
    resources.extend([(Api::Sqs, "orders".to_owned()), (Api::Firehose, "dead".to_owned())]);
    SandboxOptions { auto_create: false, resources, faults: FaultSpec::parse(faults).expect("spec"), ..SandboxOptions::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_reach_a_destination_behind_a_role_with_one_assume_role_for_many_requests() {
    let (sandbox, clients) = fanout_tests::sandbox(options(&["fanout-writer"], "")).await;
    let fanout = Fanout::new(config(ROLE), &clients);
    let inputs = inputs(35);
    assert!(invoke(&fanout, &inputs).await.is_empty());
    assert!(invoke(&fanout, &inputs[..5]).await.is_empty());
    assert_eq!(sts_calls(&sandbox), [200], "four requests and a second invocation on one set of credentials");
    assert_eq!(invariant::accepted_payloads(&sandbox, Api::Sqs, "orders").len(), 40);
    let world = sandbox.state.world();
    let call = world.store.calls().iter().find(|c| c.api == Api::Sts).expect("an AssumeRole");
    assert_eq!(
        (call.target.as_str(), call.items.first().map(|i| i.0.as_str())),
        ("fanout-writer", Some("tenant-42")),
        "the role, with its external id"
    );
}

/// fanout's own clients (not a test-built one): credentials that expire
/// within the refresh margin are fetched again for the next request, and no
/// request fails for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_about_to_expire_are_refreshed_by_fanouts_clients_without_failing_a_record() {
    let mut opts = options(&["fanout-writer"], "");
    opts.session_seconds = Some(60); // less than the 5-minute margin: stale as soon as they arrive
    let (sandbox, clients) = fanout_tests::sandbox(opts).await;
    let fanout = Fanout::new(config(ROLE), &clients);
    let inputs = inputs(35);
    assert!(invoke(&fanout, &inputs[..20]).await.is_empty());
    let first = sts_calls(&sandbox).len();
    assert!(invoke(&fanout, &inputs[20..]).await.is_empty());
    let summary = invariant::check(&sandbox, &inputs, &HashSet::new(), Some("dead")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(summary, Summary { delivered: 35, ..Summary::default() });
    assert!(first >= 1 && sts_calls(&sandbox).len() > first, "the second invocation found the credentials stale and fetched new ones");
    assert!(sts_calls(&sandbox).iter().all(|s| *s == 200));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_that_refuses_dead_letters_the_records_with_the_reason() {
    let (sandbox, clients) = fanout_tests::sandbox(options(&[], "")).await;
    let fanout = Fanout::new(config(ROLE), &clients);
    let inputs = inputs(12);
    assert!(invoke(&fanout, &inputs).await.is_empty(), "a permanent failure is dead-lettered, not reported");
    let summary = invariant::check(&sandbox, &inputs, &HashSet::new(), Some("dead")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(summary, Summary { dead_lettered: 12, ..Summary::default() });
    let envelope = invariant::accepted_payloads(&sandbox, Api::Firehose, "dead").remove(0);
    let text = String::from_utf8_lossy(&envelope);
    assert!(text.contains("AssumeRole.AccessDenied") && text.contains("fanout-writer"), "{text}");
    assert!(sts_calls(&sandbox).iter().all(|s| *s == 403));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_sts_is_retried_like_any_send() {
    let (sandbox, clients) = fanout_tests::sandbox(options(&["fanout-writer"], "sts:status=429,count=1")).await;
    let fanout = Fanout::new(config(ROLE), &clients);
    let inputs = inputs(8);
    assert!(invoke(&fanout, &inputs).await.is_empty());
    let summary = invariant::check(&sandbox, &inputs, &HashSet::new(), Some("dead")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(summary, Summary { delivered: 8, ..Summary::default() });
    assert_eq!(sts_calls(&sandbox).last(), Some(&200), "the second AssumeRole succeeded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_credentials_are_refreshed_from_moto_sts_without_failing_a_request() {
    let moto = Moto::start();
    let sdk = moto.sdk_config();
    // Sessions of 2 s, kept by the cache until they expire: the sends before
    // expiry reuse the first credentials, the one after gets new ones.
    let provider = RoleCredentials::new(aws_sdk_sts::Client::new(&sdk), ROLE, Some("tenant-42"), Some(Duration::from_secs(2)));
    let calls = provider.calls();
    let cache = aws_config::identity::IdentityCache::lazy().buffer_time(Duration::ZERO).build();
    let client =
        aws_sdk_sqs::Client::from_conf(aws_sdk_sqs::config::Builder::from(&sdk).credentials_provider(provider).identity_cache(cache).build());
    let url = client.create_queue().queue_name("orders").send().await.expect("queue").queue_url().map(str::to_owned).expect("url");
    assert!(url.contains("210987654321"), "moto put the queue in the role's account: {url}");
    for body in ["one", "two"] {
        client.send_message().queue_url(&url).message_body(body).send().await.expect("sent");
    }
    assert_eq!(calls.load(Ordering::Relaxed), 1, "cached");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    client.send_message().queue_url(&url).message_body("three").send().await.expect("sent after expiry");
    assert_eq!(calls.load(Ordering::Relaxed), 2, "refreshed once, on the first request after expiry");
    let received = client.receive_message().queue_url(&url).max_number_of_messages(10).send().await.expect("received");
    assert_eq!(received.messages().len(), 3);
    let own_account = aws_sdk_sqs::Client::new(&sdk);
    assert!(own_account.get_queue_url().queue_name("orders").send().await.is_err(), "the base account has no such queue");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_router_sends_with_the_roles_credentials_to_a_queue_in_the_roles_account_in_moto() {
    let moto = Moto::start();
    let sdk = moto.sdk_config();
    let provider = RoleCredentials::new(aws_sdk_sts::Client::new(&sdk), ROLE, None, None);
    let role_client = aws_sdk_sqs::Client::from_conf(aws_sdk_sqs::config::Builder::from(&sdk).credentials_provider(provider).build());
    let url = role_client.create_queue().queue_name("orders").send().await.expect("queue").queue_url().map(str::to_owned).expect("url");
    let text =
        format!("destinations:\n  orders: {{ type: sqs, queue_url: '{url}', role_arn: '{ROLE}' }}\nroutes:\n  - {{ name: all, to: [orders] }}\n");
    let fanout = Fanout::new(Config::parse(&text, Path::new("role.yaml")).expect("valid"), &fanout::Clients::from_sdk_config(&sdk));
    assert!(invoke(&fanout, &inputs(5)).await.is_empty());
    let received = role_client.receive_message().queue_url(&url).max_number_of_messages(10).send().await.expect("received");
    assert_eq!(received.messages().len(), 5);
}
