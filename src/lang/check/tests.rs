use crate::lang::parse_and_check;

const MLP: &str = "net mlp v1
input x: 128
label y: classes(2)
h1 = relu(linear(x, 32))
h2 = relu(linear(h1, 16))
out = linear(h2, 2)
loss = cross_entropy(out, y) + 0.5 * l1(h1) + 0.01 * l2(h2)
train { data: synthetic(samples: 4000, target: 1), batch: 4, steps: 1000, optimizer: sgd(lr: 1e-4), seed: 0 }
";

#[test]
fn the_reference_mlp_checks() {
    let m = match parse_and_check("mlp.net", MLP) {
        Ok(m) => m,
        Err(d) => panic!("{}", d.render()),
    };
    assert_eq!(m.param_count(), 128 * 32 + 32 + 32 * 16 + 16 + 16 * 2 + 2);
    assert_eq!(m.bindings.len(), 3);
    assert_eq!(m.loss.penalties.len(), 2);
    assert!(m.warnings.is_empty());
}
