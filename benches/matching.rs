//! Invoice matching over 10^5 invoiceable items: in time order (as the store lists them) and
//! shuffled, for a small invoice and for one that takes everything.
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use partner_ledger::{Amount, Id, InvoiceItem, Timestamp, match_invoice};
use std::hint::black_box;

const ITEMS: usize = 100_000;

/// A small deterministic generator, so every run measures the same input.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// One item in ten is a refund; four bills share each minute, and a random prefix of the bill id
/// decides their order.
fn items_in_time_order(random: &mut XorShift) -> Vec<InvoiceItem> {
    (0..ITEMS)
        .map(|index| {
            let magnitude = i128::from(random.next() % 100_000 + 1);
            let remaining = if index % 10 == 9 { -magnitude / 4 - 1 } else { magnitude };
            InvoiceItem {
                bill: Id::new(&format!("bill-{:05}-{index:06}", random.next() % 100_000)).unwrap(),
                at: Timestamp::from_millis(1_767_225_600_000 + (i64::try_from(index).unwrap() / 4) * 60_000),
                remaining: Amount::from_minor(remaining),
            }
        })
        .collect()
}

fn shuffled(mut items: Vec<InvoiceItem>, random: &mut XorShift) -> Vec<InvoiceItem> {
    for index in (1..items.len()).rev() {
        let other = usize::try_from(random.next() % (index as u64 + 1)).unwrap();
        items.swap(index, other);
    }
    items
}

fn matching(criterion: &mut Criterion) {
    let mut random = XorShift(0x9E37_79B9_7F4A_7C15);
    let ordered = items_in_time_order(&mut random);
    let unordered = shuffled(ordered.clone(), &mut random);
    let total = Amount::from_minor(ordered.iter().map(|item| item.remaining.minor()).sum());
    let small = Amount::from_minor(10_000);
    assert!(total.is_positive());

    let mut group = criterion.benchmark_group("match_invoice_100k");
    group.throughput(Throughput::Elements(ITEMS as u64));
    for (order, items) in [("in_time_order", &ordered), ("shuffled", &unordered)] {
        for (size, amount) in [("small", small), ("total", total)] {
            group.bench_with_input(BenchmarkId::new(order, size), &amount, |bencher, &amount| {
                bencher.iter(|| match_invoice(black_box(items), black_box(amount)).unwrap());
            });
        }
    }
    group.finish();
}

criterion_group!(benches, matching);
criterion_main!(benches);
