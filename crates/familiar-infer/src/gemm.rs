//! Dense layers for the embedding encoder: `y = x · W + b` with W packed
//! once into column panels, computed by a register-blocked kernel (8 rows ×
//! 32 columns of accumulators, 16 AVX-512 registers) that the compiler
//! vectorises from plain Rust. Rows are split across the thread pool.
//!
//! On machines without AVX-512 the kernel's accumulators do not fit the
//! registers, so candle's matmul is used there instead.

use candle_core::{Device, Tensor};
use rayon::prelude::*;

const MR: usize = 8;
const NR: usize = 32;
/// Rows per task when rows are many: enough work to amortise packing A.
const ROWS_PER_TASK: usize = MR * 8;

/// A weight matrix [inputs, outputs], packed into panels of `NR` columns
/// (each panel k-major: `panel[p * NR + j]`), zero-padded to whole panels.
pub struct Packed {
    inputs: usize,
    outputs: usize,
    panels: Vec<f32>,
    /// The same weights for candle's matmul, where our kernel does not run.
    fallback: Option<Tensor>,
}

fn fast_kernel_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

impl Packed {
    /// Packs `w`, given row-major as [inputs, outputs].
    pub fn new(w: &[f32], inputs: usize, outputs: usize) -> Result<Packed, candle_core::Error> {
        assert_eq!(w.len(), inputs * outputs, "weight size");
        if !fast_kernel_available() {
            let t = Tensor::from_slice(w, (inputs, outputs), &Device::Cpu)?;
            return Ok(Packed { inputs, outputs, panels: Vec::new(), fallback: Some(t) });
        }
        let count = outputs.div_ceil(NR);
        let mut panels = vec![0f32; count * inputs * NR];
        for p in 0..inputs {
            for o in 0..outputs {
                let (panel, j) = (o / NR, o % NR);
                panels[panel * inputs * NR + p * NR + j] = w[p * outputs + o];
            }
        }
        Ok(Packed { inputs, outputs, panels, fallback: None })
    }

    /// `x` ([rows, inputs]) · W + `bias`, as [rows, outputs].
    pub fn forward(&self, x: &[f32], rows: usize, bias: &[f32]) -> Result<Vec<f32>, candle_core::Error> {
        let (k, n) = (self.inputs, self.outputs);
        let mut y = match &self.fallback {
            Some(_) => self.product(x, rows)?,
            None if rows > ROWS_PER_TASK => {
                // Many rows: tasks take blocks of rows, all columns.
                let mut y = vec![0f32; rows * n];
                y.par_chunks_mut(ROWS_PER_TASK * n).enumerate().for_each(|(t, out)| {
                    let first = t * ROWS_PER_TASK;
                    let count = out.len() / n;
                    self.rows(&x[first * k..(first + count) * k], count, 0..self.panels(), out, n);
                });
                y
            }
            None => {
                // Few rows (one short text): tasks take groups of column panels instead.
                let groups: Vec<std::ops::Range<usize>> =
                    (0..self.panels()).step_by(4).map(|p| p..(p + 4).min(self.panels())).collect();
                let parts: Vec<Vec<f32>> = groups
                    .par_iter()
                    .map(|panels| {
                        let width = panels.len() * NR;
                        let mut part = vec![0f32; rows * width];
                        self.rows(x, rows, panels.clone(), &mut part, width);
                        part
                    })
                    .collect();
                let mut y = vec![0f32; rows * n];
                for (panels, part) in groups.iter().zip(parts) {
                    let (from, width) = (panels.start * NR, panels.len() * NR);
                    for r in 0..rows {
                        let cols = width.min(n - from);
                        y[r * n + from..r * n + from + cols].copy_from_slice(&part[r * width..r * width + cols]);
                    }
                }
                y
            }
        };
        y.par_chunks_mut(n).for_each(|row| row.iter_mut().zip(bias).for_each(|(v, b)| *v += b));
        Ok(y)
    }

    /// `x` · W on the calling thread (for small products inside parallel work).
    pub fn product(&self, x: &[f32], rows: usize) -> Result<Vec<f32>, candle_core::Error> {
        match &self.fallback {
            Some(w) => Tensor::from_slice(x, (rows, self.inputs), &Device::Cpu)?.matmul(w)?.flatten_all()?.to_vec1(),
            None => {
                let mut y = vec![0f32; rows * self.outputs];
                self.rows(x, rows, 0..self.panels(), &mut y, self.outputs);
                Ok(y)
            }
        }
    }

    fn panels(&self) -> usize {
        self.outputs.div_ceil(NR)
    }

    /// Computes `count` rows of the columns of `panels` into `out`, a
    /// [count, stride] matrix whose column 0 is the first panel's.
    fn rows(&self, x: &[f32], count: usize, panels: std::ops::Range<usize>, out: &mut [f32], stride: usize) {
        let (k, n) = (self.inputs, self.outputs);
        let first_panel = panels.start;
        let mut a = vec![0f32; k * MR];
        for block in (0..count).step_by(MR) {
            let m = MR.min(count - block);
            // A block, k-major: a[p * MR + i] (rows past the end stay zero).
            a.iter_mut().for_each(|v| *v = 0.0);
            for i in 0..m {
                for (p, v) in x[(block + i) * k..(block + i + 1) * k].iter().enumerate() {
                    a[p * MR + i] = *v;
                }
            }
            for panel in panels.clone() {
                let weights = &self.panels[panel * k * NR..(panel + 1) * k * NR];
                let mut acc = [[0f32; NR]; MR];
                kernel(&a, weights, &mut acc);
                let cols = NR.min(n - panel * NR).min(stride - (panel - first_panel) * NR);
                for (i, row) in acc.iter().enumerate().take(m) {
                    let at = (block + i) * stride + (panel - first_panel) * NR;
                    out[at..at + cols].copy_from_slice(&row[..cols]);
                }
            }
        }
    }
}

/// Sixteen lanes: one AVX-512 register.
type Lanes = [f32; 16];

#[inline(always)]
fn fma(a: f32, b: &Lanes, c: &mut Lanes) {
    for l in 0..16 {
        c[l] = a.mul_add(b[l], c[l]);
    }
}

/// `acc` = A (k-major [k][MR]) · panel (k-major [k][NR]). The sixteen
/// accumulators are named one by one (through the macro) so that each stays
/// in a register.
#[multiversion::multiversion(targets("x86_64+avx512f+avx512vl+fma"))]
fn kernel(a: &[f32], panel: &[f32], acc: &mut [[f32; NR]; MR]) {
    let zero: Lanes = [0.0; 16];
    let (mut c00, mut c01, mut c10, mut c11, mut c20, mut c21, mut c30, mut c31) =
        (zero, zero, zero, zero, zero, zero, zero, zero);
    let (mut c40, mut c41, mut c50, mut c51, mut c60, mut c61, mut c70, mut c71) =
        (zero, zero, zero, zero, zero, zero, zero, zero);
    for (ap, bp) in a.chunks_exact(MR).zip(panel.chunks_exact(NR)) {
        let (Ok(b0), Ok(b1)) = (<Lanes>::try_from(&bp[..16]), <Lanes>::try_from(&bp[16..])) else { return };
        macro_rules! row {
            ($i:expr, $lo:ident, $hi:ident) => {
                fma(ap[$i], &b0, &mut $lo);
                fma(ap[$i], &b1, &mut $hi);
            };
        }
        row!(0, c00, c01);
        row!(1, c10, c11);
        row!(2, c20, c21);
        row!(3, c30, c31);
        row!(4, c40, c41);
        row!(5, c50, c51);
        row!(6, c60, c61);
        row!(7, c70, c71);
    }
    let rows = [(c00, c01), (c10, c11), (c20, c21), (c30, c31), (c40, c41), (c50, c51), (c60, c61), (c70, c71)];
    for (out, (lo, hi)) in acc.iter_mut().zip(rows) {
        out[..16].copy_from_slice(&lo);
        out[16..].copy_from_slice(&hi);
    }
}

#[cfg(test)]
mod tests {
    use super::Packed;

    #[test]
    fn packed_matmul_matches_the_plain_product() {
        for (rows, k, n) in [(1, 3, 5), (9, 40, 33), (70, 64, 96), (3, 16, 300)] {
            let x: Vec<f32> = (0..rows * k).map(|i| ((i * 7 % 13) as f32 - 6.0) / 7.0).collect();
            let w: Vec<f32> = (0..k * n).map(|i| ((i * 5 % 11) as f32 - 5.0) / 5.0).collect();
            let bias: Vec<f32> = (0..n).map(|j| j as f32 / 10.0).collect();
            let y = Packed::new(&w, k, n).unwrap().forward(&x, rows, &bias).unwrap();
            for r in 0..rows {
                for c in 0..n {
                    let want: f32 = (0..k).map(|p| x[r * k + p] * w[p * n + c]).sum::<f32>() + bias[c];
                    assert!((y[r * n + c] - want).abs() < 1e-3, "({r}, {c}): {} vs {want}", y[r * n + c]);
                }
            }
        }
    }
}
