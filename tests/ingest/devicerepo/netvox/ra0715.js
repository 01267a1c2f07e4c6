// Netvox RA0715 / RA0715Y, written for placehub's tests from Netvox's published payload
// format: fPort 6 reports (device, report type, battery, three 16-bit values), fPort 7 replies.
var DEVICES = {5: 'RA07Series', 9: 'R726Series', 13: 'RA07**YSeries', 87: 'R718PA', 88: 'R718PB'};
var REPORTS = {
  1: [['PM1_0', 1], ['PM2_5', 1], ['PM10', 1]],
  2: [['PM1_0', 1], ['PM2_5', 1], ['PM10', 1]],
  3: [['um0_3', 1], ['um0_5', 1], ['um1_0', 1]],
  4: [['um2_5', 1], ['um5_0', 1], ['um10', 1]],
  5: [['O3', 0.1], ['CO', 0.1], ['NO', 0.1]],
  6: [['NO2', 0.1], ['SO2', 0.1], ['H2S', 0.1]],
  7: [['CO2', 0.1], ['NH3', 0.1], ['Noise', 0.1]],
  8: [['PH', 0.01], ['TempPH', 0.01, true], ['ORP', 1, true]],
  9: [['NTU', 0.1], ['TempNTU', 0.01, true], ['EC5SoildHumi', 0.01]],
  10: [['SoildHumi5TE', 0.01], ['SoildTemp5TE', 0.01, true], ['WaterLevel', 1]],
  11: [['TempLDO', 0.01, true], ['LDO_DO', 0.01], ['LDO_Sat', 0.1]],
  12: [['Temperature', 0.01, true], ['Humidity', 0.01], ['WindSpeed', 0.01]],
  13: [['WindDirection', 1]],
  14: [['VOC', 0.1]]
};
function u16(b, i) { return (b[i] << 8) | b[i + 1]; }
function round(v) { return Math.round(v * 1000) / 1000; }
function decodeUplink(input) {
  var b = input.bytes;
  if (b.length !== 11) { return {errors: ['payload must be 11 bytes']}; }
  var data = {Device: DEVICES[b[1]] || ('type ' + b[1])};
  if (input.fPort === 7) {
    if (b[0] === 0x81) { data.Cmd = 'ConfigReportRsp'; data.Status = b[2] === 0 ? 'Success' : 'Failure'; }
    else if (b[0] === 0x82) { data.Cmd = 'ReadConfigReportRsp'; data.MinTime = u16(b, 2); data.MaxTime = u16(b, 4); }
    else { return {errors: ['unknown command ' + b[0]]}; }
    return {data: data};
  }
  if (input.fPort !== 6) { return {errors: ['unknown FPort']}; }
  var report = b[2];
  if (report === 0) {
    data.SWver = b[3] / 10; data.HWver = b[4];
    data.Datecode = [5, 6, 7, 8].map(function (i) { return ('0' + b[i].toString(16)).slice(-2); }).join('');
    return {data: data};
  }
  var fields = REPORTS[report];
  if (!fields) { return {errors: ['unknown report type ' + report]}; }
  data.Volt = (b[3] & 0x7F) / 10;
  for (var k = 0; k < fields.length; k++) {
    var raw = u16(b, 4 + 2 * k);
    if (raw === 0xFFFF) { data[fields[k][0]] = 'NoSensor'; continue; }
    if (fields[k][2] && raw & 0x8000) { raw -= 0x10000; }
    data[fields[k][0]] = round(raw * fields[k][1]);
  }
  if (report === 10) { data.EC5TE = b[10] === 0xFF ? 'NoSensor' : b[10] / 10; }
  if (report === 13) {
    var pressure = ((b[6] << 24) >>> 0) + (b[7] << 16) + (b[8] << 8) + b[9];
    data.Atomsphere = pressure === 0xFFFFFFFF ? 'NoSensor' : pressure / 100;
  }
  return {data: data};
}
