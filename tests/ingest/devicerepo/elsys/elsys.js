// Elsys TLV payloads (ERS, EMS, ELT ...), written for placehub's tests from Elsys's published
// payload document: a type byte, then a value of that type's length, repeated.
function u16(b, i) { return (b[i] << 8) | b[i + 1]; }
function s16(b, i) { var v = u16(b, i); return v & 0x8000 ? v - 0x10000 : v; }
function s8(v) { return v & 0x80 ? v - 0x100 : v; }
function u32(b, i) { return ((b[i] << 24) >>> 0) + (b[i + 1] << 16) + (b[i + 2] << 8) + b[i + 3]; }
var TYPES = {
  0x01: [2, function (b, i, d) { d.temperature = s16(b, i) / 10; }],
  0x02: [1, function (b, i, d) { d.humidity = b[i]; }],
  0x03: [3, function (b, i, d) { d.x = s8(b[i]); d.y = s8(b[i + 1]); d.z = s8(b[i + 2]); }],
  0x04: [2, function (b, i, d) { d.light = u16(b, i); }],
  0x05: [1, function (b, i, d) { d.motion = b[i]; }],
  0x06: [2, function (b, i, d) { d.co2 = u16(b, i); }],
  0x07: [2, function (b, i, d) { d.vdd = u16(b, i); }],
  0x08: [2, function (b, i, d) { d.analog1 = u16(b, i); }],
  0x09: [6, function (b, i, d) { d.gps = b.slice(i, i + 6); }],
  0x0A: [2, function (b, i, d) { d.pulse1 = u16(b, i); }],
  0x0B: [4, function (b, i, d) { d.pulseAbs = u32(b, i); }],
  0x0C: [2, function (b, i, d) { d.externalTemperature = s16(b, i) / 10; }],
  0x0D: [1, function (b, i, d) { d.digital = b[i]; }],
  0x0E: [2, function (b, i, d) { d.distance = u16(b, i); }],
  0x0F: [1, function (b, i, d) { d.accMotion = b[i]; }],
  0x10: [4, function (b, i, d) {
    d.irInternalTemperature = s16(b, i) / 10; d.irExternalTemperature = s16(b, i + 2) / 10; }],
  0x11: [1, function (b, i, d) { d.occupancy = b[i]; }],
  0x12: [1, function (b, i, d) { d.waterleak = b[i]; }],
  0x13: [65, function (b, i, d) { d.grideye = b[i]; }],
  0x14: [4, function (b, i, d) { d.pressure = u32(b, i) / 1000; }],
  0x15: [2, function (b, i, d) { d.soundPeak = b[i]; d.soundAvg = b[i + 1]; }],
  0x16: [2, function (b, i, d) { d.pulse2 = u16(b, i); }],
  0x17: [4, function (b, i, d) { d.pulseAbs2 = u32(b, i); }],
  0x18: [2, function (b, i, d) { d.analog2 = u16(b, i); }],
  0x19: [2, function (b, i, d) { d.externalTemperature2 = s16(b, i) / 10; }],
  0x1A: [1, function (b, i, d) { d.digital2 = b[i]; }],
  0x1B: [4, function (b, i, d) { d.analogUv = u32(b, i) | 0; }],
  0x1C: [2, function (b, i, d) { d.tvoc = u16(b, i); }],
  0x3D: [4, function (b, i, d) { d.debug = u32(b, i); }]
};
function decodeUplink(input) {
  var b = input.bytes;
  if (b.length === 0) { return {errors: ['empty payload']}; }
  var data = {};
  for (var i = 0; i < b.length;) {
    var type = b[i];
    if (type === 0x3E) { i += 2 + b[i + 1]; continue; }
    var entry = TYPES[type];
    if (!entry) { return {errors: ['unknown data type ' + type + ' at byte ' + i]}; }
    if (i + 1 + entry[0] > b.length) { return {errors: ['payload ends inside type ' + type]}; }
    entry[1](b, i + 1, data);
    i += 1 + entry[0];
  }
  return {data: data};
}
