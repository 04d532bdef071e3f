//! The spec's `experiment` field, from the registry of kinds (`experiments::for_each_kind`: one
//! line a kind — its name in a spec, its variant, its module). Each kind's module is
//! `experiments::<module>` (its parameters, whose [`ExperimentKind`] impl declares its title,
//! help, the prompts it reads, its grids and its checks, beside its `run`), `spec::draft::<module>` (its
//! fields in the form, as text) and `ui::panels::form::<module>` (those fields drawn). From the
//! list come [`Experiment`] (written `{"activation_patching": {...}}`, or the name alone for a
//! kind without parameters), the form's kind list [`Kind`], [`KindFields`] and every dispatch
//! over kinds, here, in the grid names and in the browser's form.

use super::draft::{FormDraft, KindDraft};
use crate::experiments::{
    About, ExperimentError, ExperimentKind, Needs, Output, ParamError, Progress, PromptSet,
};
use crate::model::Gpt2;
use serde::de::{self, EnumAccess, VariantAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

use crate::experiments::for_each_kind;

/// Defines [`Experiment`] (one variant per kind, holding its parameters), [`Kind`] (the kinds
/// without parameters) and [`KindFields`] (each kind's fields in the form) from the list.
macro_rules! experiment_kinds {
    ($($name:ident => $kind:ident($module:ident),)+) => {
        /// The experiment and its parameters: one variant per kind.
        #[derive(Debug, Clone, PartialEq)]
        pub enum Experiment {
            $($kind($crate::experiments::$module::Params),)+
        }

        /// An experiment kind, without parameters: what the form's kind list offers.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Kind {
            $($kind,)+
        }

        impl Kind {
            pub const ALL: &'static [Self] = &[$(Self::$kind,)+];
            /// Every kind's name in a spec, in the same order.
            pub const NAMES: &'static [&'static str] = &[$(stringify!($name),)+];

            /// Its name in a spec (`"activation_patching"`): the key its parameters sit under.
            pub fn name(self) -> &'static str {
                Self::NAMES[self as usize]
            }

            pub fn about(self) -> &'static About {
                match self {
                    $(Self::$kind => &<$crate::experiments::$module::Params as ExperimentKind>::ABOUT,)+
                }
            }

            /// The prompts the kind reads with its usual parameters.
            pub fn needs(self) -> Needs {
                match self {
                    $(Self::$kind => <$crate::experiments::$module::Params as ExperimentKind>::NEEDS,)+
                }
            }
        }

        impl Experiment {
            pub fn kind(&self) -> Kind {
                match self {
                    $(Self::$kind(_) => Kind::$kind,)+
                }
            }

            /// The prompts these parameters read.
            pub fn needs(&self) -> Needs {
                match self {
                    $(Self::$kind(p) => p.needs(),)+
                }
            }

            /// The parameters' checks that need no model; the field is relative to them.
            pub fn check_params(&self) -> Result<(), ParamError> {
                match self {
                    $(Self::$kind(p) => p.check(),)+
                }
            }

            /// Whether its run sweeps cells a worker pool can share: the pool's workers hold
            /// the model, not the SAEs a run may name.
            pub fn sweeps_cells(&self) -> bool {
                match self {
                    $(Self::$kind(p) => <$crate::experiments::$module::Params as $crate::experiments::ExperimentKind>::SWEEPS_CELLS && p.saes().is_empty(),)+
                }
            }

            /// Models the parameters name besides the spec's own.
            pub fn models(&self) -> Vec<&$crate::loading::ModelRef> {
                match self {
                    $(Self::$kind(p) => p.models(),)+
                }
            }

            /// SAEs the parameters name.
            pub fn saes(&self) -> Vec<&$crate::loading::ModelRef> {
                match self {
                    $(Self::$kind(p) => p.saes(),)+
                }
            }

            /// Runs the experiment on `prompts`.
            pub async fn run(
                &self,
                model: &Gpt2,
                prompts: &PromptSet<'_>,
                progress: &mut Progress<'_>,
            ) -> Result<Output, ExperimentError> {
                match self {
                    $(Self::$kind(p) => $crate::experiments::$module::run(model, prompts, p, progress).await,)+
                }
            }
        }

        impl Serialize for Experiment {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                match self {
                    $(Self::$kind(p) => write_kind(s, Kind::$kind, p),)+
                }
            }
        }

        impl<'de> Visitor<'de> for ExperimentVisitor {
            type Value = Experiment;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an experiment: a kind's name with its parameters")
            }

            fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Experiment, A::Error> {
                let (kind, variant) = data.variant::<Kind>()?;
                match kind {
                    $(Kind::$kind => read_kind(variant).map(Experiment::$kind),)+
                }
            }
        }

        /// Every kind's fields in the form, each kept while another kind is chosen.
        #[derive(Debug, Clone, PartialEq, Default)]
        pub struct KindFields {
            $(pub $name: $crate::spec::draft::$module::Draft,)+
        }

        impl FormDraft {
            /// Opens `experiment` in its kind's fields (`None` where the form cannot hold it).
            pub(super) fn open_experiment(&mut self, experiment: &Experiment) -> Option<()> {
                self.kind = experiment.kind();
                match experiment {
                    $(Experiment::$kind(p) => {
                        self.fields.$name = <$crate::spec::draft::$module::Draft as KindDraft>::from_params(p, self)?;
                    })+
                }
                Some(())
            }

            /// The chosen kind's parameters, or each problem of its fields.
            pub(super) fn write_experiment(&self, problems: &mut Vec<String>) -> Option<Experiment> {
                match self.kind {
                    $(Kind::$kind => self.fields.$name.to_params(self, problems).map(Experiment::$kind),)+
                }
            }

            /// The texts the chosen kind reads besides the prompts, by name (a generation's
            /// prompt, steering's two phrases...), for the form to show tokenised.
            pub fn texts(&self) -> Vec<(&'static str, String)> {
                match self.kind {
                    $(Kind::$kind => self.fields.$name.texts(),)+
                }
            }
        }
    };
}

for_each_kind!(experiment_kinds);

impl Experiment {
    /// Its name in a spec (`"activation_patching"`): the key its parameters sit under.
    pub fn name(&self) -> &'static str {
        self.kind().name()
    }
}

impl Kind {
    /// For people ("Activation patching").
    pub fn title(self) -> &'static str {
        self.about().title
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::NAMES
            .iter()
            .position(|n| *n == name)
            .map(|i| Self::ALL[i])
    }
}

fn write_kind<S: Serializer, P: ExperimentKind + Serialize>(
    s: S,
    kind: Kind,
    params: &P,
) -> Result<S::Ok, S::Error> {
    let index = kind as u32;
    match P::without_parameters() {
        Some(_) => s.serialize_unit_variant("Experiment", index, kind.name()),
        None => s.serialize_newtype_variant("Experiment", index, kind.name(), params),
    }
}

fn read_kind<'de, A: VariantAccess<'de>, P: ExperimentKind + Deserialize<'de>>(
    variant: A,
) -> Result<P, A::Error> {
    match P::without_parameters() {
        Some(params) => variant.unit_variant().map(|()| params),
        None => variant.newtype_variant(),
    }
}

struct ExperimentVisitor;

impl<'de> Deserialize<'de> for Experiment {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_enum("Experiment", Kind::NAMES, ExperimentVisitor)
    }
}

impl<'de> Deserialize<'de> for Kind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Name;
        impl Visitor<'_> for Name {
            type Value = Kind;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an experiment kind's name")
            }

            fn visit_str<E: de::Error>(self, name: &str) -> Result<Kind, E> {
                Kind::from_name(name).ok_or_else(|| E::unknown_variant(name, Kind::NAMES))
            }
        }
        d.deserialize_identifier(Name)
    }
}

impl Serialize for Kind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_name_is_the_key_its_parameters_are_written_under() {
        for example in crate::spec::examples::EXAMPLES {
            let spec = crate::spec::Spec::from_json(example.json).unwrap();
            let written = serde_json::to_value(&spec.experiment).unwrap();
            let key = match &written {
                serde_json::Value::String(name) => name.clone(),
                serde_json::Value::Object(map) => map.keys().next().unwrap().clone(),
                other => panic!("{other}"),
            };
            assert_eq!(spec.experiment.name(), key, "{}", example.stem);
        }
    }

    #[test]
    fn every_kind_has_a_distinct_name_and_reads_back_from_it() {
        for (i, kind) in Kind::ALL.iter().enumerate() {
            assert_eq!(*kind as usize, i);
            assert_eq!(Kind::from_name(kind.name()), Some(*kind));
            let written = serde_json::to_string(kind).unwrap();
            assert_eq!(serde_json::from_str::<Kind>(&written).unwrap(), *kind);
        }
        let names: std::collections::BTreeSet<_> = Kind::NAMES.iter().collect();
        assert_eq!(names.len(), Kind::ALL.len());
    }

    #[test]
    fn a_kind_without_parameters_is_written_as_its_name() {
        let lens = Experiment::LogitLens(crate::experiments::lens::Params);
        assert_eq!(serde_json::to_string(&lens).unwrap(), r#""logit_lens""#);
        assert_eq!(
            serde_json::from_str::<Experiment>(r#""logit_lens""#).unwrap(),
            lens
        );
        // A kind with parameters needs them; one without takes none.
        let bare = serde_json::from_str::<Experiment>(r#""loss""#).unwrap_err();
        assert!(bare.to_string().contains("newtype variant"), "{bare}");
        assert!(serde_json::from_str::<Experiment>(r#"{"logit_lens": {}}"#).is_err());
    }

    #[test]
    fn an_unknown_kind_lists_the_known_ones() {
        let err = serde_json::from_str::<Experiment>(r#"{"activation_pathcing": {}}"#)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("unknown variant `activation_pathcing`, expected one of `activation_patching`, `ablation`"),
            "{err}"
        );
    }

    #[test]
    fn every_kind_is_explained_with_a_paper() {
        for kind in Kind::ALL {
            let about = kind.about();
            assert!(!about.title.is_empty(), "{kind:?}");
            assert!(about.what.len() > 80 && about.read.len() > 80, "{kind:?}");
            assert!(!about.paper.is_empty(), "{kind:?}");
            assert!(about.url.starts_with("https://"), "{kind:?}");
        }
    }
}
