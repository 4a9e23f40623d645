//! The Genesys Cloud JSON shapes redrive reads and writes (genesys-api.md §1–§5). Every field
//! is optional and unknown fields are ignored, as the contract asks; the simulator serialises
//! the same types, so both sides of the contract are one definition.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// §5.2 ErrorBody. Parses the current names (`code`, `message`, `contextId`, `messageParams`)
/// and the legacy ones (`errorCode`, `userMessage`, `correlationId`, `userParams`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ErrorBody {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", alias = "errorCode")]
    pub code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entity_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entity_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_with_params: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", alias = "userParams")]
    pub message_params: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none", alias = "correlationId")]
    pub context_id: Option<String>,
    /// Legacy name for the message shown to users.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_message: Option<String>,
    pub details: Vec<Detail>,
    pub errors: Vec<ErrorBody>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<Limit>,
}

impl ErrorBody {
    /// The most useful one-line description: the message (current or legacy), or the first
    /// nested message when it says more, without the platform's boilerplate prefix.
    pub fn summary(&self) -> String {
        let top = self.message.clone().or_else(|| self.user_message.clone()).unwrap_or_default();
        let inner = self.errors.iter().find_map(|e| e.message.clone().or_else(|| e.user_message.clone()));
        let text = match inner {
            Some(i) if top.is_empty() || i.contains(top.trim_end_matches('.')) => i,
            Some(i) if !top.contains(&i) => format!("{top} {i}"),
            _ if top.is_empty() => self.code.clone().unwrap_or_else(|| "no message".into()),
            _ => top,
        };
        text.strip_prefix("REST call for action execute failed. Message: ")
            .map(str::to_string)
            .unwrap_or(text)
    }

    /// The remote endpoint's HTTP status, when a message ends with it (`… [503]`), as the
    /// data-action failures in genesys-api.md §1.3 and §8 do.
    pub fn remote_status(&self) -> Option<u16> {
        self.errors
            .iter()
            .filter_map(|e| e.message.as_deref())
            .chain(self.message.as_deref())
            .find_map(trailing_status)
    }

    /// The `details[].errorCode` values (`ACTION.REMOTE_ENDPOINT`, …).
    pub fn detail_codes(&self) -> impl Iterator<Item = &str> {
        self.details.iter().filter_map(|d| d.error_code.as_deref())
    }
}

/// `"… Response from web service: … [503]"` → 503.
pub fn trailing_status(msg: &str) -> Option<u16> {
    let inner = msg.trim_end().strip_suffix(']')?;
    let open = inner.rfind('[')?;
    inner[open + 1..].trim().parse::<u16>().ok().filter(|s| (100..600).contains(s))
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Detail {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entity_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entity_name: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Limit {
    pub key: Option<String>,
    pub namespace: Option<String>,
    pub value: Option<i64>,
}

/// §5.1 token response.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AuthResponse {
    pub access_token: String,
    pub token_type: Option<String>,
    pub expires_in: Option<u64>,
}

/// §5.1 token error.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AuthErrorResponse {
    pub error: Option<String>,
    pub description: Option<String>,
    pub error_description: Option<String>,
}

/// §1.2 Action.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Action {
    pub id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub integration_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secure: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config: Option<ActionConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub self_uri: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ActionConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<RequestConfig>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RequestConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_url_template: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_template: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_type: Option<String>,
    /// Header names and values. redrive keeps only the names.
    pub headers: BTreeMap<String, String>,
}

/// Page-number paging (§1.1 ActionEntityListing, §4.1 FlowResultEntityListing).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PagedListing<T> {
    pub entities: Vec<T>,
    pub page_size: Option<u32>,
    pub page_number: Option<u32>,
    pub total: Option<u64>,
    pub page_count: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub self_uri: Option<String>,
}

/// Cursor paging (§2.1 TriggerEntityListing): follow `nextUri` until it is absent.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CursorListing<T> {
    pub entities: Vec<T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub self_uri: Option<String>,
}

/// §2.2 Trigger (the fields redrive shows).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Trigger {
    pub id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<TriggerTarget>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TriggerTarget {
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The workflow's flow id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// §4.1 CriteriaQuery.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CriteriaQuery {
    pub query: Vec<CriteriaGroup>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CriteriaGroup {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub and: Option<Vec<CriteriaItem>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub or: Option<Vec<CriteriaItem>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not: Option<Vec<CriteriaItem>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub criteria: Option<CriteriaItem>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CriteriaItem {
    pub key: String,
    pub operator: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

impl CriteriaGroup {
    pub fn single(key: &str, operator: &str, value: Option<&str>) -> CriteriaGroup {
        CriteriaGroup {
            criteria: Some(CriteriaItem {
                key: key.into(),
                operator: operator.into(),
                value: value.map(Into::into),
            }),
            ..Default::default()
        }
    }
}

/// §4.1 FlowExecutionDataQueryResult.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct FlowInstance {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_date_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_date_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flow_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flow_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flow_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flow_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flow_error_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flow_warning_reason: Option<String>,
}

/// §4.3 ExecutionDataRequest.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ExecutionDataRequest {
    pub ids: Vec<String>,
}

/// §4.3 GetFlowExecutionDataJobResult.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ExecutionDataJob {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `Registered` | `Running` | `Success` | `Failed`.
    pub job_state: String,
    pub entities: Vec<ExecutionDataEntity>,
}

/// §4.3 ExecutionDataEntity.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ExecutionDataEntity {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub download_uri: Option<String>,
    pub failed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_code: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_body_reads_current_and_legacy_names() {
        let modern: ErrorBody = serde_json::from_str(
            r#"{"message":"Rate limit exceeded","code":"too.many.requests.retry.after","status":429,
                "contextId":"abc","messageParams":{"n":"3"},"details":[],"errors":[],"unknownField":1}"#,
        )
        .unwrap();
        assert_eq!(modern.code.as_deref(), Some("too.many.requests.retry.after"));
        assert_eq!(modern.context_id.as_deref(), Some("abc"));
        let legacy: ErrorBody = serde_json::from_str(
            r#"{"errorCode":"ACTION.AUTHENTICATION","userMessage":"Bad credentials","correlationId":"xyz","userParams":[]}"#,
        )
        .unwrap();
        assert_eq!(legacy.code.as_deref(), Some("ACTION.AUTHENTICATION"));
        assert_eq!(legacy.context_id.as_deref(), Some("xyz"));
        assert_eq!(legacy.summary(), "Bad credentials");
    }

    #[test]
    fn summary_prefers_the_nested_detail_without_boilerplate() {
        let b: ErrorBody = serde_json::from_str(
            r#"{"message":"Request to backend service failed.","details":[{"errorCode":"ACTION.REMOTE_ENDPOINT"}],
                "errors":[{"message":"REST call for action execute failed. Message: Request to backend service failed. Response from web service: busy [503]"}]}"#,
        )
        .unwrap();
        assert_eq!(b.summary(), "Request to backend service failed. Response from web service: busy [503]");
        assert_eq!(b.detail_codes().collect::<Vec<_>>(), vec!["ACTION.REMOTE_ENDPOINT"]);
        let plain = ErrorBody { message: Some("Not found".into()), ..Default::default() };
        assert_eq!(plain.summary(), "Not found");
    }
}
