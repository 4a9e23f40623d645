//! The execution-data file of one flow instance: the one place that knows its layout.
//!
//! The layout is not in Genesys's SDKs (genesys-api.md §4.3); this parser reads the layout §8
//! assumes and is tolerant: unknown keys are ignored, a data-action step it cannot read leaves
//! the payload unavailable with the reason, and the caller keeps the file as downloaded so an
//! operator can inspect it.

use serde_json::{Map, Value};

/// What a file tells about a failed data-action call.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Recovered {
    /// The integration action id (`dataActionId`): the webhook.
    pub action_id: Option<String>,
    /// The execute body: the step's input variables as one JSON object.
    pub payload: Option<Vec<u8>>,
    /// The remote's HTTP status when the error text carries one (`… [503]`), else Genesys's.
    pub status: Option<u16>,
    pub error: Option<String>,
    /// Why the payload could not be recovered.
    pub unavailable: Option<String>,
    pub flow_id: Option<String>,
    pub flow_name: Option<String>,
}

pub fn parse(bytes: &[u8]) -> Recovered {
    let mut out = Recovered::default();
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        out.unavailable = Some("the execution-data file is empty".into());
        return out;
    }
    let doc: Value = match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(e) => {
            out.unavailable = Some(format!(
                "the execution-data file is not JSON ({e}); it starts {:?}",
                super::error::snippet(bytes, 40)
            ));
            return out;
        }
    };
    let flow = doc.get("flow").unwrap_or(&doc);
    out.flow_id = str_field(flow, "flowId");
    out.flow_name = str_field(flow, "flowName");
    let steps: Vec<&Map<String, Value>> = flow
        .get("execution")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_object).collect())
        .unwrap_or_default();
    // Data-action steps: the assumed `actionCallData` key, or any step object that names a
    // `dataActionId`. The failing one (with `errorInfo`) wins over earlier successful ones.
    let mut candidates: Vec<&Map<String, Value>> = steps
        .iter()
        .flat_map(|step| step.iter())
        .filter_map(|(key, v)| {
            let o = v.as_object()?;
            (key == "actionCallData" || o.contains_key("dataActionId")).then_some(o)
        })
        .collect();
    if candidates.is_empty() {
        out.unavailable = Some("no data action step in the execution data".into());
        return out;
    }
    candidates.sort_by_key(|o| !o.contains_key("errorInfo"));
    let step = candidates[0];
    out.action_id = step.get("dataActionId").and_then(Value::as_str).map(str::to_string);
    if let Some(err) = step.get("errorInfo") {
        let (status, error) = read_error(err);
        out.status = status;
        out.error = error;
    }
    match read_inputs(step) {
        Ok(obj) => out.payload = Some(serde_json::to_vec(&Value::Object(obj)).expect("JSON serialises")),
        Err(why) => out.unavailable = Some(format!("could not read the data action step: {why}")),
    }
    if out.action_id.is_none() && out.unavailable.is_none() {
        out.unavailable = Some("could not read the data action step: it names no dataActionId".into());
    }
    out
}

fn str_field(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

/// `inputVariables: [{name, value}]` → `{name: value}`.
fn read_inputs(step: &Map<String, Value>) -> Result<Map<String, Value>, String> {
    let vars = step.get("inputVariables").ok_or("it has no inputVariables")?;
    let list = vars.as_array().ok_or("inputVariables is not a list")?;
    let mut obj = Map::new();
    for (i, var) in list.iter().enumerate() {
        let name = var
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("inputVariables[{i}] has no name"))?;
        obj.insert(name.to_string(), var.get("value").cloned().unwrap_or(Value::Null));
    }
    Ok(obj)
}

/// The status and message of an `errorInfo` (an ErrorBody, current or legacy names).
fn read_error(err: &Value) -> (Option<u16>, Option<String>) {
    let body: super::model::ErrorBody = serde_json::from_value(err.clone()).unwrap_or_default();
    let summary = body.summary();
    (
        body.remote_status().or(body.status),
        (!summary.is_empty() && summary != "no message").then_some(summary),
    )
}

#[cfg(test)]
mod tests {
    use super::super::model::trailing_status;

    #[test]
    fn trailing_status_reads_the_last_bracket() {
        assert_eq!(trailing_status("Response from web service: busy [503]"), Some(503));
        assert_eq!(trailing_status("Connection reset [ctx]"), None);
        assert_eq!(trailing_status("no status"), None);
    }
}
