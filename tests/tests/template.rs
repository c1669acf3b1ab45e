//! `template.yaml` against the code it deploys: what `cfn-lint` cannot know.
//! The template is read as text (its `!Ref`/`!If` tags are CloudFormation's,
//! not YAML a generic reader keeps).

use fanout_tests::repo_root;

fn template() -> String {
    std::fs::read_to_string(repo_root().join("template.yaml")).expect("template.yaml")
}

/// The lines of the top-level section `name` (up to the next top-level key).
fn section<'t>(text: &'t str, name: &str) -> Vec<&'t str> {
    let start = text.lines().position(|l| l == format!("{name}:")).unwrap_or_else(|| panic!("no {name} section"));
    text.lines().skip(start + 1).take_while(|l| l.is_empty() || l.starts_with(' ') || l.starts_with('#')).collect()
}

#[test]
fn every_allowed_timeout_maps_to_six_times_it_for_the_visibility_timeout() {
    let text = template();
    let parameters = section(&text, "Parameters");
    let at = parameters.iter().position(|l| *l == "  Timeout:").expect("a Timeout parameter");
    let allowed = parameters[at..].iter().find_map(|l| l.trim().strip_prefix("AllowedValues: [")).expect("Timeout has AllowedValues");
    let allowed: Vec<u32> = allowed.trim_end_matches(']').split(',').map(|v| v.trim().parse().expect("a number")).collect();
    assert!(allowed.contains(&60) && allowed.contains(&900), "{allowed:?}");

    let mappings = section(&text, "Mappings");
    let table = mappings.iter().position(|l| *l == "  SixTimesTimeout:").expect("a SixTimesTimeout mapping");
    let rows: Vec<(u32, u32)> = mappings[table + 1..]
        .iter()
        .take_while(|l| l.starts_with("    "))
        .filter_map(|l| {
            let (key, rest) = l.trim().split_once(':')?;
            let seconds = rest.trim().strip_prefix("{ Seconds:")?.trim_end_matches('}').trim();
            Some((key.trim_matches('"').parse().ok()?, seconds.parse().ok()?))
        })
        .collect();
    let keys: Vec<u32> = rows.iter().map(|(k, _)| *k).collect();
    assert_eq!(keys, allowed, "one row per allowed Timeout, in the same order");
    for (timeout, seconds) in rows {
        assert_eq!(seconds, 6 * timeout, "Timeout {timeout}");
        assert!(seconds <= 43_200, "SQS allows a visibility timeout of at most 12 hours");
    }
}

#[test]
fn the_functions_get_the_environment_variables_the_code_reads() {
    let text = template();
    for var in [
        fanout::config::CONFIG_TEXT_ENV,
        fanout::config::CONFIG_FILE_ENV,
        fanout::config::source::CONFIG_S3_ENV,
        fanout::config::source::CONFIG_APPCONFIG_ENV,
        fanout::config::source::CONFIG_REFRESH_ENV,
        fanout::metrics::NAMESPACE_ENV,
        fanout::ledger::env::LEDGER_TABLE_ENV,
    ] {
        assert!(text.contains(&format!("        {var}: ")), "template.yaml does not set {var}");
    }
}

#[test]
fn alarms_on_fanouts_metrics_name_metrics_fanout_emits() {
    let text = template();
    let aws = ["Errors", "Throttles", "IteratorAge", "ApproximateAgeOfOldestMessage", "ApproximateNumberOfMessagesVisible"];
    let mut ours = 0;
    for line in text.lines() {
        let Some(name) = line.trim().strip_prefix("MetricName: ") else { continue };
        let name = name.trim();
        if aws.contains(&name) {
            continue; // AWS/Lambda and AWS/SQS metrics (`Throttles` there is Lambda's own)
        }
        ours += 1;
        assert!(fanout::metrics::METRIC_NAMES.contains(&name), "an alarm on `{name}`, which fanout does not emit");
    }
    assert!(ours >= 2, "the record alarms (Failed, DeadLettered) read fanout's metrics");
}

/// The policy every function sends with grants exactly the send actions of
/// every destination type in the registry: a new type without its action
/// (or an action no type calls) fails here, not in production.
#[test]
fn the_send_policy_grants_every_destination_types_send_actions_and_nothing_else() {
    let text = template();
    let policy = section(&text, "  DestinationSendPolicy");
    let line = policy.iter().find(|l| l.trim_start().starts_with("Action:")).expect("the policy's Action line");
    let granted: std::collections::BTreeSet<&str> =
        line.split_once('[').and_then(|(_, rest)| rest.split_once(']')).map(|(list, _)| list.split(',').map(str::trim).collect()).unwrap_or_default();
    let needed: std::collections::BTreeSet<&str> = fanout::destinations::Kind::ALL.iter().flat_map(|k| k.send_actions().iter().copied()).collect();
    assert_eq!(granted, needed);
}

/// The lines of resource `name` (up to the next resource).
fn resource<'t>(text: &'t str, name: &str) -> Vec<&'t str> {
    let resources = section(text, "Resources");
    let start = resources.iter().position(|l| *l == format!("  {name}:")).unwrap_or_else(|| panic!("no resource {name}"));
    resources[start + 1..].iter().copied().take_while(|l| l.is_empty() || l.starts_with("   ") || l.trim_start().starts_with('#')).collect()
}

#[test]
fn the_dynamodb_stream_mapping_has_the_kinesis_mappings_safety_settings() {
    let text = template();
    let kinesis = resource(&text, "KinesisFanoutFunction");
    let dynamodb = resource(&text, "DynamoDbStreamMapping");
    for setting in [
        "FunctionResponseTypes: [ReportBatchItemFailures]",
        "BisectBatchOnFunctionError: true",
        "MaximumRetryAttempts: !Ref MaximumRetryAttempts",
        "MaximumRecordAgeInSeconds: !Ref MaximumRecordAgeInSeconds",
        "ParallelizationFactor: !Ref ParallelizationFactor",
        "StartingPosition: !Ref StartingPosition",
        "Destination: !GetAtt FailedBatchesQueue.Arn",
    ] {
        assert!(kinesis.iter().any(|l| l.trim() == setting), "the Kinesis mapping lost `{setting}`");
        assert!(dynamodb.iter().any(|l| l.trim() == setting), "the DynamoDB mapping lacks `{setting}`");
    }
    assert!(dynamodb.iter().any(|l| l.trim() == "EventSourceArn: !Ref DynamoDbStreamArn"));
}

#[test]
fn dynamodb_fanout_reads_its_own_stream_and_no_other() {
    let text = template();
    // A SAM `Type: DynamoDB` event would attach AWSLambdaDynamoDBExecutionRole (every stream).
    assert!(!text.lines().any(|l| l.trim() == "Type: DynamoDB"), "no SAM DynamoDB event: the mapping is declared on its own");
    let function = resource(&text, "DynamoDbFanoutFunction");
    let actions: Vec<&str> = function.iter().filter(|l| l.contains("dynamodb:")).copied().collect();
    assert_eq!(actions.len(), 2, "{actions:?}");
    assert!(function.iter().any(|l| l.trim() == "Resource: !Ref DynamoDbStreamArn"), "stream reads on the stream ARN only");
    assert!(function.iter().any(|l| l.trim() == "- \"${Table}/stream/*\""), "ListStreams on the table's streams only");
    assert!(function.iter().any(|l| l.trim() == "Binary: dynamodb-fanout"));
    for line in ["DynamoDbFanoutFunction:", "DynamoDbStreamMapping:", "DynamoDbFanoutLogGroup:"] {
        let body = resource(&text, line.trim_end_matches(':'));
        assert!(body.iter().any(|l| l.trim() == "Condition: HasDynamoDbStream"), "{line} exists only with a stream");
    }
}

/// The ledger's table is the one its store reads and writes (key, TTL), on
/// demand; its policy grants exactly the calls the store makes, on that table
/// only; every function that sends takes it; all of it only when enabled.
#[test]
fn the_delivery_ledger_table_and_policy_fit_the_store() {
    use fanout::ledger::dynamodb::{ACTIONS, KEY_ATTRIBUTE, TTL_ATTRIBUTE};
    let text = template();
    let table = resource(&text, "DeliveryLedgerTable");
    for line in [
        "Type: AWS::DynamoDB::Table".to_owned(),
        "Condition: HasLedger".to_owned(),
        "BillingMode: PAY_PER_REQUEST".to_owned(),
        format!("AttributeDefinitions: [{{ AttributeName: {KEY_ATTRIBUTE}, AttributeType: S }}]"),
        format!("KeySchema: [{{ AttributeName: {KEY_ATTRIBUTE}, KeyType: HASH }}]"),
        format!("TimeToLiveSpecification: {{ AttributeName: {TTL_ATTRIBUTE}, Enabled: true }}"),
    ] {
        assert!(table.iter().any(|l| l.trim() == line), "DeliveryLedgerTable lacks `{line}`");
    }
    let policy = resource(&text, "DeliveryLedgerPolicy");
    assert!(policy.iter().any(|l| l.trim() == "Condition: HasLedger"));
    let line = policy.iter().find(|l| l.trim_start().starts_with("Action:")).expect("the policy's Action line");
    let granted: std::collections::BTreeSet<&str> =
        line.split_once('[').and_then(|(_, rest)| rest.split_once(']')).map(|(list, _)| list.split(',').map(str::trim).collect()).unwrap_or_default();
    assert_eq!(granted, ACTIONS.iter().copied().collect());
    let resources: Vec<&str> = policy.iter().filter_map(|l| l.trim().strip_prefix("Resource: ")).collect();
    assert_eq!(resources, ["!GetAtt DeliveryLedgerTable.Arn"]);

    let senders = text.lines().filter(|l| l.trim() == "- !Ref DestinationSendPolicy").count();
    let ledger = text.lines().filter(|l| l.trim() == "- !If [HasLedger, !Ref DeliveryLedgerPolicy, !Ref AWS::NoValue]").count();
    assert_eq!((senders, ledger), (5, 5), "every function that sends may use the ledger");
    assert!(text.lines().any(|l| l.trim() == "HasLedger: !Equals [!Ref DeliveryLedger, Enabled]"));
    assert!(text.lines().any(|l| l.trim() == "FANOUT_LEDGER_TABLE: !If [HasLedger, !Ref DeliveryLedgerTable, !Ref AWS::NoValue]"));
}

/// With the ledger on, one alarm fires when any function fell back to at
/// least once: it reads `LedgerUnavailable` (a metric fanout emits) of every
/// function, dynamodb-fanout's only when it exists, and sums them all.
#[test]
fn the_ledger_alarm_sums_every_functions_fall_backs() {
    let text = template();
    let alarm = resource(&text, "LedgerUnavailableAlarm");
    assert!(alarm.iter().any(|l| l.trim() == "Condition: HasLedger"));
    assert!(fanout::metrics::METRIC_NAMES.contains(&"LedgerUnavailable"));
    let read: Vec<&str> = alarm.iter().filter_map(|l| l.trim().strip_prefix("Dimensions: [{ Name: FunctionName, Value: !Ref ")).collect();
    let read: Vec<&str> = read.iter().map(|r| r.trim_end_matches(" }]")).collect();
    assert_eq!(read, ["KinesisFanoutFunction", "SqsFanoutFunction", "HttpFanoutFunction", "IotFanoutFunction", "DynamoDbFanoutFunction"]);
    assert_eq!(alarm.iter().filter(|l| l.trim() == "MetricName: LedgerUnavailable").count(), 5);
    let sums: Vec<&str> = alarm.iter().filter(|l| l.contains("FILL(")).map(|l| l.trim()).collect();
    assert_eq!(sums.len(), 2, "{sums:?}");
    for id in ["kinesis", "sqs", "http", "iot"] {
        assert!(sums.iter().all(|s| s.contains(&format!("FILL({id}, 0)"))), "{id}: {sums:?}");
    }
    assert!(sums[0].contains("FILL(dynamodb, 0)") && !sums[1].contains("dynamodb"), "dynamodb-fanout's only with its stream");
    let dynamodb_at = alarm.iter().position(|l| l.trim() == "- Id: dynamodb").expect("the dynamodb metric");
    assert_eq!(alarm[dynamodb_at - 1].trim(), "- HasDynamoDbStream");
}
