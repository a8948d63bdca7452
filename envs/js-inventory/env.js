// Inventory: a small warehouse, written in JavaScript (docs/js-env.md).
//
// The agent fulfils one customer order: find the ordered items, restock
// whatever is short, ship the order, then reply with the order number and
// the total. Task t orders t+1 different items; from task 1 on, at least one
// of them is short on stock. Prices, stock levels, SKUs, the customer and the
// order number all come from Math.random, that is from the episode's seed.
//
// Reward: 0.5 for shipping exactly the order to the right customer, and 0.5
// more for a final answer naming the order number and the total.

const CATALOG = [
  ["widget", 4.5], ["gadget", 12], ["gizmo", 7.25], ["sprocket", 2.1],
  ["flange", 3.4], ["doohickey", 9.9], ["thingamajig", 15.5], ["whatsit", 6],
];
const CUSTOMERS = ["Ada", "Grace", "Linus", "Barbara", "Ken", "Margaret"];
const DAY_MS = 24 * 60 * 60 * 1000;

const int = (lo, hi) => lo + Math.floor(Math.random() * (hi - lo + 1));
const pick = (xs) => xs[int(0, xs.length - 1)];
const money = (cents) => "$" + (cents / 100).toFixed(2);

function shuffled(xs) {
  const a = xs.slice();
  for (let i = a.length - 1; i > 0; i--) {
    const j = int(0, i);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

// warehouse draws the episode's items and order.
function warehouse(task) {
  const items = CATALOG.map(([name, base], i) => ({
    sku: "SKU-" + (100 + 7 * i + int(0, 6)),
    name,
    price: Math.round(base * 100 * (0.8 + 0.4 * Math.random())), // cents
    stock: int(0, 12),
  }));
  const lines = shuffled(items).slice(0, task + 1).map((item) => ({item, quantity: int(1, 8)}));
  if (task > 0 && lines[0].item.stock >= lines[0].quantity) {
    lines[0].item.stock = int(0, lines[0].quantity - 1);
  }
  return {items, customer: pick(CUSTOMERS), lines};
}

const env = {
  spec: {
    name: "js-inventory",
    version: "1.0.0",
    description: "Fulfil a warehouse order: look items up, restock, ship, report.",
    tasks: 3,
    max_turns: 12,
  },

  reset(ep) {
    const w = warehouse(ep.task);
    ep.state = {...w, shipment: null, restocks: 0};
    const bySku = (sku) => {
      const item = w.items.find((it) => it.sku === sku.trim().toUpperCase());
      if (!item) throw new Error(`no item with SKU ${JSON.stringify(sku)}; use search_items to find SKUs`);
      return item;
    };
    const order = w.lines.map((l) => `${l.quantity} × ${l.item.name}`).join(", ");
    return {
      messages: [
        {role: "system", content: "You are a warehouse assistant. Use the tools to look up, restock and ship items."},
        {role: "user", content: `Please ship this order for ${w.customer}: ${order}. ` +
          "Restock anything we are short of first. When it has shipped, reply with the order number and the total."},
      ],
      tools: [
        {
          name: "search_items",
          description: "Find items whose name contains the query (case-insensitive).",
          parameters: {type: "object", properties: {query: {type: "string", minLength: 1}}, required: ["query"], additionalProperties: false},
          handler({query}) {
            const q = query.trim().toLowerCase();
            return w.items.filter((it) => it.name.includes(q)).map(({sku, name}) => ({sku, name}));
          },
        },
        {
          name: "get_item",
          description: "Look up an item by SKU: its name, unit price and stock.",
          parameters: {type: "object", properties: {sku: {type: "string"}}, required: ["sku"], additionalProperties: false},
          handler({sku}) {
            const it = bySku(sku);
            return {sku: it.sku, name: it.name, price: money(it.price), stock: it.stock};
          },
        },
        {
          name: "restock",
          description: "Order more of an item from the supplier; it arrives at once.",
          parameters: {
            type: "object",
            properties: {sku: {type: "string"}, quantity: {type: "integer", minimum: 1, maximum: 50}},
            required: ["sku", "quantity"],
            additionalProperties: false,
          },
          handler({sku, quantity}, ep) {
            const it = bySku(sku);
            it.stock += quantity;
            ep.state.restocks++;
            return {sku: it.sku, stock: it.stock};
          },
        },
        {
          name: "ship_order",
          description: "Ship an order. Every line must be in stock; an order ships once.",
          parameters: {
            type: "object",
            properties: {
              customer: {type: "string"},
              lines: {
                type: "array", minItems: 1,
                items: {
                  type: "object",
                  properties: {sku: {type: "string"}, quantity: {type: "integer", minimum: 1}},
                  required: ["sku", "quantity"],
                  additionalProperties: false,
                },
              },
            },
            required: ["customer", "lines"],
            additionalProperties: false,
          },
          handler({customer, lines}, ep) {
            if (ep.state.shipment) throw new Error(`this order already shipped as ${ep.state.shipment.order_id}`);
            const items = lines.map((l) => ({item: bySku(l.sku), quantity: l.quantity}));
            for (const {item, quantity} of items) {
              if (item.stock < quantity) {
                throw new Error(`not enough ${item.name} (${item.sku}): ${item.stock} in stock, ${quantity} ordered`);
              }
            }
            let total = 0;
            for (const {item, quantity} of items) {
              item.stock -= quantity;
              total += item.price * quantity;
            }
            const shipment = {
              order_id: "ORD-" + int(10000, 99999),
              customer: customer.trim(),
              total: money(total),
              ships_on: new Date(Date.now() + 2 * DAY_MS).toISOString().slice(0, 10),
              lines: items.map(({item, quantity}) => ({sku: item.sku, name: item.name, quantity})),
            };
            ep.state.shipment = shipment;
            return {order_id: shipment.order_id, total: shipment.total, ships_on: shipment.ships_on};
          },
        },
      ],
    };
  },

  score(ep) {
    const s = ep.state, sh = s.shipment;
    const want = s.lines.map((l) => `${l.item.sku}:${l.quantity}`).sort().join(",");
    const shipped = sh !== null &&
      sh.customer.toLowerCase() === s.customer.toLowerCase() &&
      sh.lines.map((l) => `${l.sku}:${l.quantity}`).sort().join(",") === want;
    const answer = ep.finalAnswer || "";
    const answered = shipped && answer.includes(sh.order_id) && answer.includes(sh.total);
    return {
      reward: (shipped ? 0.5 : 0) + (answered ? 0.5 : 0),
      components: {shipped: +shipped, answered: +answered, restocks: s.restocks, calls: ep.calls},
    };
  },

  // The reference solution: restock every short line (in one turn, as
  // parallel calls), ship, then answer.
  oracle(ep) {
    const s = ep.state;
    if (s.shipment) {
      return `Shipped order ${s.shipment.order_id} to ${s.customer}; the total is ${s.shipment.total}.`;
    }
    const short = s.lines.filter((l) => l.item.stock < l.quantity);
    if (short.length > 0) {
      return {tool_calls: short.map((l) => ({name: "restock", arguments: {sku: l.item.sku, quantity: l.quantity - l.item.stock}}))};
    }
    return {tool_calls: [{name: "ship_order", arguments: {
      customer: s.customer,
      lines: s.lines.map((l) => ({sku: l.item.sku, quantity: l.quantity})),
    }}]};
  },
};
