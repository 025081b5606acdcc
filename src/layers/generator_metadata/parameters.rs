//! A scored rule for generation parameters written as JSON by tools no named rule knows:
//! diffusers pipelines, Gradio apps and Hugging Face Spaces write `{"prompt": …,
//! "negative_prompt": …, "guidance_scale": 5.5, "num_inference_steps": 20, "seed": …}` into a
//! PNG `parameters` chunk, an EXIF UserComment or an XMP description.
//!
//! A value counts when it is a JSON object (or holds one, one level down) whose keys include a
//! prompt key and at least two keys only a diffusion sampler has (steps, guidance, sampler,
//! scheduler, seed, …). Both halves are needed: a prompt key alone appears in UI strings and
//! chat logs, a seed or steps alone in games and scanners; camera, Lightroom and Photoshop
//! metadata is not JSON at all.

use serde_json::{Map, Value};

/// Keys that hold the text the image was generated from. (Draw Things' one-letter `c` is left to
/// its own rule: a one-letter key is too common to score.)
const PROMPT_KEYS: &[&str] = &["prompt", "negativeprompt", "positiveprompt"];
/// Keys only an image sampler's settings have.
const SAMPLER_KEYS: &[&str] = &[
    "steps",
    "numinferencesteps",
    "guidancescale",
    "cfgscale",
    "cfg",
    "sampler",
    "samplername",
    "scheduler",
    "seed",
    "denoisingstrength",
    "clipskip",
    "modelhash",
];
/// How many sampler keys a value needs beside a prompt key.
const MIN_SAMPLER_KEYS: usize = 2;

/// The vocabulary keys found when `value` holds generation parameters as JSON, in the order
/// they appear; `None` otherwise.
pub fn generation_parameters(value: &str) -> Option<Vec<String>> {
    let value = value.trim();
    if !value.starts_with('{') {
        return None;
    }
    let json: Value = serde_json::from_str(value).ok()?;
    let object = json.as_object()?;
    std::iter::once(object)
        .chain(object.values().filter_map(Value::as_object))
        .find_map(vocabulary)
}

/// The vocabulary keys of one object, when they make it generation parameters.
fn vocabulary(object: &Map<String, Value>) -> Option<Vec<String>> {
    let normalised = |key: &str| -> String {
        key.chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .map(|c| c.to_ascii_lowercase())
            .collect()
    };
    let mut prompt = false;
    let mut sampler = 0;
    let mut found = Vec::new();
    for (key, value) in object {
        let key_n = normalised(key);
        if PROMPT_KEYS.contains(&key_n.as_str()) && value.is_string() {
            prompt = true;
            found.push(key.clone());
        } else if SAMPLER_KEYS.contains(&key_n.as_str()) && (value.is_number() || value.is_string())
        {
            sampler += 1;
            found.push(key.clone());
        }
    }
    (prompt && sampler >= MIN_SAMPLER_KEYS).then_some(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diffusers_and_gradio_parameters_are_recognised() {
        let hf = r#"{"prompt": "1girl, solo", "negative_prompt": "bad quality", "resolution": "1024 x 1024", "guidance_scale": 5.5, "num_inference_steps": 20, "seed": 1971450810, "sampler": "DPM++ 2M Karras", "Model": "WAI"}"#;
        let keys = generation_parameters(hf).unwrap();
        assert!(keys.contains(&"guidance_scale".to_string()), "{keys:?}");
        let nested =
            r#"{"app": "my-space", "params": {"Prompt": "a cat", "Steps": 30, "CFG scale": 7}}"#;
        assert!(generation_parameters(nested).is_some());
    }

    #[test]
    fn json_that_is_not_generation_parameters_is_not() {
        for trap in [
            // A UI string table and a chat log: a prompt key, nothing of a sampler.
            r#"{"prompt": "Save changes?", "title": "Editor", "cancel": "Cancel"}"#,
            r#"{"prompt": "hello", "response": "hi", "model": "gpt"}"#,
            // A game or scanner: seed and steps without any prompt.
            r#"{"seed": 42, "steps": 3, "level": "forest"}"#,
            // Camera and editor metadata some apps write as JSON.
            r#"{"make": "Canon", "model": "EOS R5", "iso": 100, "exposure": "1/200"}"#,
            r#"{"Software": "Adobe Lightroom", "crs:Exposure2012": "+0.35"}"#,
            // A prompt key with a non-text value.
            r#"{"prompt": {"3": {"class_type": "KSampler"}}, "seed": 1, "steps": 2}"#,
            "Screenshot",
            "",
            "{not json",
        ] {
            assert_eq!(generation_parameters(trap), None, "{trap}");
        }
    }
}
