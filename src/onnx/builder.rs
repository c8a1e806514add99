//! Small helpers over the ONNX protobuf messages (`onnx-protobuf`): nodes, attributes,
//! initializers and value infos, so graph code reads like the network rather than like protobuf.

use onnx_protobuf::{
    AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, StringStringEntryProto,
    TensorProto, TensorShapeProto, TypeProto, ValueInfoProto, attribute_proto::AttributeType,
    tensor_proto::DataType, tensor_shape_proto, type_proto,
};

/// The opset every graph targets: Pad(reflect), MaxPool(ceil_mode), Resize(nearest) and
/// ReduceMean with an `axes` attribute (an input from opset 18 on).
pub const OPSET: i64 = 17;
/// ONNX IR version 9 (ONNX 1.14+), understood by ONNX Runtime >= 1.15 and onnx >= 1.14.
pub const IR_VERSION: i64 = 9;

/// An attribute value for [`GraphBuilder::node`].
pub enum Attr {
    Int(i64),
    Ints(Vec<i64>),
    Float(f32),
    Str(&'static str),
}

/// One dimension of a graph input or output: fixed or named (dynamic).
pub enum Dim {
    Fixed(i64),
    Named(&'static str),
}

/// Builds one graph: a counter keeps node and value names unique.
pub struct GraphBuilder {
    graph: GraphProto,
    counter: usize,
    /// Convolution weights and activations in float16 (see `graphs::net`).
    pub half: bool,
    /// Each upsampling and the 3x3 convolution after it as one 2x2 convolution per output
    /// phase at the lower resolution (see `graphs::upsample_conv`).
    pub subpixel: bool,
}

impl GraphBuilder {
    pub fn new(name: &str) -> Self {
        let graph = GraphProto {
            name: name.to_string(),
            ..Default::default()
        };
        GraphBuilder {
            graph,
            counter: 0,
            half: false,
            subpixel: false,
        }
    }

    /// A fresh value name starting with `hint`.
    pub fn fresh(&mut self, hint: &str) -> String {
        self.counter += 1;
        format!("{hint}_{}", self.counter)
    }

    /// Adds a node and returns the name of its (first) output.
    pub fn node(&mut self, op: &str, inputs: &[&str], attrs: Vec<(&str, Attr)>) -> String {
        let out = self.fresh(&op.to_ascii_lowercase());
        self.node_to(op, inputs, &[&out], attrs);
        out
    }

    /// Adds a node with explicit output names.
    pub fn node_to(
        &mut self,
        op: &str,
        inputs: &[&str],
        outputs: &[&str],
        attrs: Vec<(&str, Attr)>,
    ) {
        let name = self.fresh(op);
        let node = NodeProto {
            op_type: op.to_string(),
            name,
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: outputs.iter().map(|s| s.to_string()).collect(),
            attribute: attrs.into_iter().map(|(n, a)| attribute(n, a)).collect(),
            ..Default::default()
        };
        self.graph.node.push(node);
    }

    /// Every initializer goes through here: name, dims, element type, little-endian bytes.
    fn push_init(
        &mut self,
        name: &str,
        dims: Vec<i64>,
        data_type: DataType,
        raw_data: Vec<u8>,
    ) -> String {
        self.graph.initializer.push(TensorProto {
            name: name.to_string(),
            dims,
            data_type: data_type as i32,
            raw_data,
            ..Default::default()
        });
        name.to_string()
    }

    fn dims(dims: &[usize]) -> Vec<i64> {
        dims.iter().map(|&d| d as i64).collect()
    }

    /// Adds an f32 initializer (raw little-endian data).
    pub fn init_f32(&mut self, name: &str, dims: &[usize], data: &[f32]) -> String {
        let raw = data.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.push_init(name, Self::dims(dims), DataType::FLOAT, raw)
    }

    /// Adds a float16 initializer (values rounded from f32).
    pub fn init_f16(&mut self, name: &str, dims: &[usize], data: &[f32]) -> String {
        let raw = data
            .iter()
            .flat_map(|v| half::f16::from_f32(*v).to_le_bytes())
            .collect();
        self.push_init(name, Self::dims(dims), DataType::FLOAT16, raw)
    }

    /// Adds network weights in the graph's precision (float16 when `half`, else f32).
    pub fn init_weight(&mut self, name: &str, dims: &[usize], data: &[f32]) -> String {
        if self.half {
            self.init_f16(name, dims, data)
        } else {
            self.init_f32(name, dims, data)
        }
    }

    /// Adds an int64 initializer (a shape, axes or pads constant).
    pub fn init_i64(&mut self, hint: &str, data: &[i64]) -> String {
        let name = self.fresh(hint);
        let raw = data.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.push_init(&name, vec![data.len() as i64], DataType::INT64, raw)
    }

    /// Adds a scalar f32 initializer.
    pub fn scalar_f32(&mut self, hint: &str, v: f32) -> String {
        let name = self.fresh(hint);
        self.push_init(&name, vec![], DataType::FLOAT, v.to_le_bytes().to_vec())
    }

    pub fn input(&mut self, name: &str, dims: &[Dim], doc: &str) {
        let vi = value_info(name, dims, doc);
        self.graph.input.push(vi);
    }

    pub fn output(&mut self, name: &str, dims: &[Dim], doc: &str) {
        let vi = value_info(name, dims, doc);
        self.graph.output.push(vi);
    }

    /// Renames the value `from` to the graph output `to` with an Identity node.
    pub fn identity(&mut self, from: &str, to: &str) {
        self.node_to("Identity", &[from], &[to], vec![]);
    }

    /// Wraps the graph in a model with opset, producer and `metadata_props`.
    pub fn finish(self, doc: &str, metadata: &[(String, String)]) -> ModelProto {
        ModelProto {
            ir_version: IR_VERSION,
            producer_name: "adain".into(),
            producer_version: env!("CARGO_PKG_VERSION").into(),
            doc_string: doc.into(),
            opset_import: vec![OperatorSetIdProto {
                domain: String::new(),
                version: OPSET,
                ..Default::default()
            }],
            metadata_props: metadata
                .iter()
                .map(|(k, v)| StringStringEntryProto {
                    key: k.clone(),
                    value: v.clone(),
                    ..Default::default()
                })
                .collect(),
            graph: Some(self.graph).into(),
            ..Default::default()
        }
    }
}

fn attribute(name: &str, a: Attr) -> AttributeProto {
    let mut p = AttributeProto {
        name: name.to_string(),
        ..Default::default()
    };
    match a {
        Attr::Int(i) => {
            p.i = i;
            p.type_ = AttributeType::INT.into();
        }
        Attr::Ints(v) => {
            p.ints = v;
            p.type_ = AttributeType::INTS.into();
        }
        Attr::Float(f) => {
            p.f = f;
            p.type_ = AttributeType::FLOAT.into();
        }
        Attr::Str(s) => {
            p.s = s.as_bytes().to_vec();
            p.type_ = AttributeType::STRING.into();
        }
    }
    p
}

fn value_info(name: &str, dims: &[Dim], doc: &str) -> ValueInfoProto {
    let shape = TensorShapeProto {
        dim: dims
            .iter()
            .map(|d| tensor_shape_proto::Dimension {
                value: Some(match d {
                    Dim::Fixed(v) => tensor_shape_proto::dimension::Value::DimValue(*v),
                    Dim::Named(s) => tensor_shape_proto::dimension::Value::DimParam(s.to_string()),
                }),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    };
    let tensor = type_proto::Tensor {
        elem_type: DataType::FLOAT as i32,
        shape: Some(shape).into(),
        ..Default::default()
    };
    ValueInfoProto {
        name: name.to_string(),
        doc_string: doc.to_string(),
        type_: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(tensor)),
            ..Default::default()
        })
        .into(),
        ..Default::default()
    }
}
