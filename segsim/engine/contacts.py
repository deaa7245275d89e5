"""How the event loop keeps its contacts (a part of :class:`segsim.engine.core.Simulation`):
the precomputed transitions applied, a contact made live (:mod:`segsim.engine.live`) when an
action touches it, its history fetched in batches, its time boundaries scheduled.
"""

from __future__ import annotations

from typing import Any

from segsim import schema
from segsim._internal.sql import quote_identifier
from segsim.engine.live import EVENT_ROW, LiveContact, replay, time_boundaries
from segsim.engine.records import Contact, current_value


class ContactStates:
    """The event loop's contacts (part of :class:`segsim.engine.core.Simulation`): applying
    the precomputed transitions, making a contact live, its history and its boundaries."""

    def _contact(self, contact_id: Any) -> Contact:
        contact = self.contacts.get(contact_id)
        if contact is None:
            contact = self.contacts[contact_id] = Contact()
        return contact

    def _apply_stream(
        self, rows: list[tuple], reactions: dict[Any, list[tuple[int, bool]]]
    ) -> None:
        n_user = self.plan.user_segments
        names = self._segment_names
        log = self.logs.segment_events.append
        contacts, reacting, include_existing = self.contacts, self.reacting, self.include_existing
        for t, contact_id, segment, enter, nth, from_time, initial in rows:
            contact = contacts.get(contact_id)  # self._contact, inlined: once per transition
            if contact is None:
                contact = contacts[contact_id] = Contact()
            elif contact.live is not None or contact.deleted:
                continue  # this contact is evaluated live now
            if enter:
                contact.members |= 1 << segment
            else:
                contact.members &= ~(1 << segment)
            if initial and not include_existing:
                continue
            if segment < n_user:
                log(
                    (
                        t,
                        contact_id,
                        names[segment],
                        "enter" if enter else "exit",
                        nth,
                        "time" if from_time else "history",
                    )
                )
            if segment in reacting:
                reactions.setdefault(contact_id, []).append((segment, enter))

    def _go_live(self, contact_id: Any, contact: Contact, now: int) -> LiveContact:
        """Leave the precomputed path: replay this contact's history up to ``now``."""
        if contact.live is not None:
            return contact.live
        plan = self.plan
        history, birth = self._history(contact_id)
        state, members, nth = replay(history, birth, now, plan.predicates, plan.leaves)
        contact.live = state
        contact.nth = nth
        contact.members = sum(1 << i for i, m in enumerate(members) if m)
        for t, _ in state.future:
            self._bucket(t)["live"].append(contact_id)
            self._wake(t)
        self._schedule_boundaries(contact_id, state, now)
        return state

    def _history(self, contact_id: Any) -> tuple[list[tuple[int, bool, str, Any]], int | None]:
        """A contact's used history and birth instant: prefetched in bulk, else one query."""
        if self._keep_histories:
            found = self._history_cache.get(contact_id)
            if found is None:
                found = self._fetch_histories([contact_id]).get(contact_id, ([], None))
                self._history_cache[contact_id] = found
            return found
        found = self._history_cache.pop(contact_id, None)
        if found is None:
            found = self._fetch_histories([contact_id]).get(contact_id, ([], None))
        return found

    def _fetch_histories(self, contact_ids: list[Any]) -> dict[Any, tuple[list, int | None]]:
        """The histories of many contacts in one query (one scan of the changes)."""
        plan = self.plan
        used, used_lists = plan.used_attributes, plan.used_lists
        cursor = self.store.con.cursor()
        rows = cursor.execute(
            f"""WITH wanted AS (SELECT unnest(?) AS contact_id)
                SELECT c.contact_id, epoch_us(c.ts), FALSE, c.attribute, a.type, c.v_string,
                       c.v_number, c.v_boolean, epoch_us(c.v_timestamp)
                FROM {schema.CHANGES} c JOIN {schema.ATTRIBUTES} a USING (attribute)
                WHERE c.contact_id IN (SELECT contact_id FROM wanted) AND c.ts < make_timestamp(?)
                UNION ALL
                SELECT contact_id, epoch_us(ts), TRUE, list, 'list', NULL, NULL, member, NULL
                FROM {schema.LIST_CHANGES}
                WHERE contact_id IN (SELECT contact_id FROM wanted) AND ts < make_timestamp(?)
                ORDER BY 1, 2""",
            [contact_ids, plan.end, plan.end],
        ).fetchall()
        cursor.close()
        out: dict[Any, tuple[list, int | None]] = {}
        for contact_id, t, is_list, name, kind, v_string, v_number, v_boolean, v_time in rows:
            entry = out.get(contact_id)
            if entry is None:
                entry = out[contact_id] = ([], t)  # rows come sorted: the first is the birth
            if is_list:
                if name in used_lists:
                    entry[0].append((t, True, name, bool(v_boolean)))
            elif name in used:
                value = {
                    "string": v_string,
                    "number": v_number,
                    "boolean": v_boolean,
                    "timestamp": v_time,
                }[kind]
                entry[0].append((t, False, name, value))
        self._fetch_events(contact_ids, out)
        return out

    def _fetch_events(self, contact_ids: list[Any], out: dict[Any, Any]) -> None:
        """Add the contacts' event occurrences to their histories (a contact exists from its
        first recorded anything, events included; only the used events are history rows)."""
        store, plan = self.store, self.plan
        if self._event_types is False:
            self._event_types = store.event_property_types if store.event_names else None
        types = self._event_types
        if types is None or types is False:
            return
        props = sorted(types)
        columns = "".join(
            f", epoch_us({quote_identifier(schema.property_column(p))})"
            if types[p] == "timestamp"
            else f", {quote_identifier(schema.property_column(p))}"
            for p in props
        )
        cursor = store.con.cursor()
        rows = cursor.execute(
            f"""SELECT contact_id, epoch_us(ts), event{columns} FROM {schema.EVENTS}
                WHERE contact_id IN (SELECT unnest(?)) AND ts < make_timestamp(?)
                ORDER BY contact_id, ts, seq""",
            [contact_ids, plan.end],
        ).fetchall()
        cursor.close()
        used = plan.used_events
        for contact_id, t, name, *values in rows:
            entry = out.get(contact_id)
            if entry is None:
                entry = out[contact_id] = ([], t)
            elif entry[1] is None or t < entry[1]:
                out[contact_id] = entry = (entry[0], t)
            if name in used:
                properties = {
                    p: (float(v) if types[p] == "number" else v)
                    for p, v in zip(props, values, strict=True)
                    if v is not None
                }
                entry[0].append((t, EVENT_ROW, name, properties))

    def _prefetch(self, contact_ids: list[Any]) -> None:
        """Load, in one query, the histories of contacts about to enter flows that change contacts."""
        wanted = [
            c
            for c in dict.fromkeys(contact_ids)
            if c not in self._history_cache
            and (c not in self.contacts or self.contacts[c].live is None)
        ]
        if wanted:
            self._history_cache.update(self._fetch_histories(wanted))

    def _schedule_boundaries(self, contact_id: Any, state: LiveContact, now: int) -> None:
        for instant in time_boundaries(state.attributes, self.plan.leaves, now, self.plan.end):
            self._bucket(instant)["live"].append(contact_id)
            self._wake(instant)

    def _live_instant(
        self, contact_id: Any, t: int, reactions: dict[Any, list[tuple[int, bool]]]
    ) -> None:
        """A live contact's history changes and/or time boundary at ``t``."""
        contact = self.contacts[contact_id]
        state = contact.live
        if state is None or contact.deleted:
            return
        cause = "time"
        inputs: set[tuple[bool, str]] = set()
        while state.future and state.future[0][0] <= t:
            row_t, changes = state.future.pop(0)
            # only a real change is an input that changed: a row re-setting an attribute
            # to its current value (or a list membership the contact has) changes nothing
            touched = {(is_list, name) for is_list, name, _ in changes}
            before = {key: current_value(state, key) for key in touched}
            state.apply(changes, row_t)
            inputs.update(key for key in touched if current_value(state, key) != before[key])
            cause = "history"
        changed = self._evaluate(contact_id, contact, t, cause, inputs)
        if cause == "history":
            self._schedule_boundaries(contact_id, state, t)
        if changed:
            reactions.setdefault(contact_id, []).extend(changed)

    def _evaluate(
        self,
        contact_id: Any,
        contact: Contact,
        t: int,
        cause: str,
        inputs: set[tuple[bool, str]] | None = None,
    ) -> list[tuple[int, bool]]:
        """Re-evaluate a live contact's tracked conditions; log and return what changed.

        With ``cause="history"``, ``inputs`` are the attributes and lists that changed: a
        condition none of whose own inputs changed turned because of time (as in SQL).
        """
        state = contact.live
        assert state is not None and contact.nth is not None
        changed = []
        n_user = self.plan.user_segments
        for i, predicate in enumerate(self.plan.predicates):
            value = predicate(state.attributes, state.lists, t)
            if value == bool(contact.members >> i & 1):
                continue
            if value:
                contact.members |= 1 << i
                contact.nth[i] += 1
            else:
                contact.members &= ~(1 << i)
            if i < n_user:
                why = cause
                if cause == "history" and inputs is not None and not (self.plan.inputs[i] & inputs):
                    why = "time"
                self.logs.segment_events.append(
                    (
                        t,
                        contact_id,
                        self.plan.segments[i].name,
                        "enter" if value else "exit",
                        contact.nth[i],
                        why,
                    )
                )
            if i in self.reacting:
                changed.append((i, value))
        return changed
