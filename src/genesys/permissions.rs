//! The permissions redrive's OAuth client needs (genesys-api.md §1–§4), each with a call that
//! shows whether it is granted: a 403 means missing; any other answer (a 404 for a probe id
//! that cannot exist included) means the platform let the call through.

use reqwest::Method;

pub struct Probe {
    pub permission: &'static str,
    pub why: &'static str,
    pub method: Method,
    pub path: &'static str,
    pub body: bool,
}

pub fn probes() -> Vec<Probe> {
    vec![
        Probe {
            permission: "integrations:action:view",
            why: "list data actions (the webhooks)",
            method: Method::GET,
            path: "/api/v2/integrations/actions?pageSize=1",
            body: false,
        },
        Probe {
            permission: "integrations:action:execute",
            why: "replay through Genesys",
            method: Method::POST,
            path: "/api/v2/integrations/actions/redrive-permission-probe/execute",
            body: true,
        },
        Probe {
            permission: "processautomation:trigger:view",
            why: "list the triggers",
            method: Method::GET,
            path: "/api/v2/processautomation/triggers?pageSize=1",
            body: false,
        },
        Probe {
            permission: "architect:flowInstance:search",
            why: "find failed workflow runs",
            method: Method::GET,
            path: "/api/v2/flows/instances/querycapabilities",
            body: false,
        },
        Probe {
            permission: "architect:flowInstance:view",
            why: "recover payloads from execution data",
            method: Method::GET,
            path: "/api/v2/flows/instances/jobs/redrive-permission-probe",
            body: false,
        },
        Probe {
            permission: "architect:flowinstanceexecutiondata:view",
            why: "read the execution-data setting",
            method: Method::GET,
            path: "/api/v2/flows/instances/settings/executiondata",
            body: false,
        },
    ]
}
