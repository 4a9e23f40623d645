//! The execution-data parser against fixture files for each case the contract leaves open.

use redrive::genesys::execdata::parse;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/assets/execdata/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

#[test]
fn assumed_layout_yields_action_payload_and_remote_status() {
    let r = parse(&fixture("assumed.json"));
    assert_eq!(r.unavailable, None);
    assert_eq!(r.action_id.as_deref(), Some("custom_-_4f1e2d3c-aaaa-bbbb-cccc-000000000001"));
    assert_eq!(r.flow_name.as_deref(), Some("Order updated → CRM"));
    assert_eq!(r.status, Some(503), "the remote's status from the nested message");
    assert!(r.error.as_deref().unwrap().contains("upstream unavailable"));
    let payload: serde_json::Value = serde_json::from_slice(r.payload.as_ref().unwrap()).unwrap();
    assert_eq!(
        payload,
        serde_json::json!({"orderId": "A-1001", "amount": 42.5, "body": "{\"status\":\"shipped\"}"})
    );
}

#[test]
fn a_file_without_a_data_action_step_says_so() {
    let r = parse(&fixture("no_data_action.json"));
    assert_eq!(r.payload, None);
    assert_eq!(r.unavailable.as_deref(), Some("no data action step in the execution data"));
    assert_eq!(r.flow_id.as_deref(), Some("f-2"));
}

#[test]
fn a_step_it_cannot_read_keeps_what_it_can() {
    let r = parse(&fixture("unreadable_step.json"));
    assert_eq!(r.payload, None);
    assert!(r.unavailable.as_deref().unwrap().contains("inputVariables is not a list"), "{r:?}");
    assert_eq!(r.action_id.as_deref(), Some("custom_-_x"));
    assert_eq!(r.status, Some(400));
    assert_eq!(r.error.as_deref(), Some("Legacy message"), "legacy ErrorBody names are read");
}

#[test]
fn empty_and_non_json_files_are_reasons_not_panics() {
    assert_eq!(
        parse(&fixture("empty.json")).unavailable.as_deref(),
        Some("the execution-data file is empty")
    );
    let r = parse(&fixture("not_json.txt"));
    let why = r.unavailable.unwrap();
    assert!(why.contains("not JSON") && why.contains("<html>"), "{why}");
}
